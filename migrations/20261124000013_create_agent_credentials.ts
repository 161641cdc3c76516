// NATS credentials issued to agents: only the user's public key is kept (for revocation);
// the seed goes to the agent once and is never stored.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_credentials', (t) => {
    t.bigIncrements('id');
    t.string('agent_id', 128).notNullable();
    t.string('public_key', 64).notNullable().unique();
    t.timestamp('issued_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('revoked_at', { useTz: true, precision: 3 });
    t.string('revoke_reason', 64);
    t.index(['agent_id', 'issued_at'], 'agent_credentials_agent_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_credentials');
}
