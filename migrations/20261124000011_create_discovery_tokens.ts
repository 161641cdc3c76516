// One-time discovery tokens for agent registration (seed §4), stored hashed. A token is
// consumed atomically by the registration that uses it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('discovery_tokens', (t) => {
    t.uuid('id').primary();
    t.string('token_hash', 64).notNullable().unique();
    t.string('agent_type', 50);
    t.string('created_by', 128).notNullable();
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('used_at', { useTz: true, precision: 3 });
    t.string('used_by_agent_id', 128);
    t.timestamp('revoked_at', { useTz: true, precision: 3 });
    t.index(['created_at', 'id'], 'discovery_tokens_created_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('discovery_tokens');
}
