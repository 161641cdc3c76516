// A time-only index on agent_logs: log retention deletes by age across all agents.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_logs', (t) => t.index(['timestamp'], 'agent_logs_time_idx'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_logs', (t) => t.dropIndex(['timestamp'], 'agent_logs_time_idx'));
}
