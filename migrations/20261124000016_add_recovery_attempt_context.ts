// Recovery attempts say what set them off (trigger), which episode they belong to (the time
// of the failure that opened it, for time-to-recover statistics) and their details (delay,
// attempt n of N, rollback versions).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_recovery_attempts', (t) => {
    t.string('trigger', 50);
    t.timestamp('episode_started_at', { useTz: true, precision: 3 });
    t.jsonb('details');
    t.index(['status', 'completed_at'], 'agent_recovery_attempts_status_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_recovery_attempts', (t) => {
    t.dropIndex(['status', 'completed_at'], 'agent_recovery_attempts_status_idx');
    t.dropColumn('trigger');
    t.dropColumn('episode_started_at');
    t.dropColumn('details');
  });
}
