// Agent credential revocations as the cluster's truth (issue 14): a revoked key stays pending
// until the broker enforces it (the embedded nats-server reloaded, or the account JWT updated
// on an external cluster); whichever replica pushes next includes every pending one.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_credentials', (t) => {
    t.timestamp('revocation_applied_at', { useTz: true, precision: 3 });
  });
  await knex.raw('CREATE INDEX agent_credentials_revocation_pending ON agent_credentials (id) WHERE revoked_at IS NOT NULL AND revocation_applied_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS agent_credentials_revocation_pending');
  await knex.schema.alterTable('agent_credentials', (t) => {
    t.dropColumn('revocation_applied_at');
  });
}
