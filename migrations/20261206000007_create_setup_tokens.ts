// One-time setup tokens in the database (issue 14): with several API replicas behind a load
// balancer, the token one replica printed must work whichever replica the setup request
// reaches, and the setup done through one must end setup on all of them.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('setup_tokens', (t) => {
    t.string('token_hash', 128).primary();
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('setup_tokens');
}
