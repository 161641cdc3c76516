// What the control plane keeps of a supervisor's observations beside the statuses, so that any
// API replica answers an agent's status and health without asking its host: the health reasons,
// whether the process was adopted, the latest metrics, and the recovery episode's state (next
// attempt, attempts made). Recovery attempts carry the key the supervisor gave them, so applying
// an observation twice finds the same row. Credentials remember the host, epoch and start they
// were issued for (rotation revokes only older ones).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_status', (t) => {
    t.jsonb('health_reasons').notNullable().defaultTo('[]');
    t.boolean('adopted').notNullable().defaultTo(false);
    t.jsonb('latest_metrics').notNullable().defaultTo('{}');
    t.jsonb('recovery_state');
  });
  await knex.schema.alterTable('agent_recovery_attempts', (t) => {
    t.string('attempt_key', 100).unique();
  });
  await knex.schema.alterTable('agent_credentials', (t) => {
    t.string('host_id', 64);
    t.integer('epoch');
    t.string('start_id', 64);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_credentials', (t) => {
    t.dropColumn('host_id');
    t.dropColumn('epoch');
    t.dropColumn('start_id');
  });
  await knex.schema.alterTable('agent_recovery_attempts', (t) => t.dropColumn('attempt_key'));
  await knex.schema.alterTable('agent_status', (t) => {
    for (const c of ['health_reasons', 'adopted', 'latest_metrics', 'recovery_state']) t.dropColumn(c);
  });
}
