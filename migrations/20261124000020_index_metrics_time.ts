// Time-only indexes on the two metrics tables: retention deletes by age across all agents,
// and the fleet-wide query reads one time range of every agent.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_resource_metrics', (t) => t.index(['created_at'], 'agent_resource_metrics_time_idx'));
  await knex.schema.alterTable('agent_metrics', (t) => t.index(['timestamp'], 'agent_metrics_time_idx'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_metrics', (t) => t.dropIndex(['timestamp'], 'agent_metrics_time_idx'));
  await knex.schema.alterTable('agent_resource_metrics', (t) => t.dropIndex(['created_at'], 'agent_resource_metrics_time_idx'));
}
