// Time series: resource samples taken by the supervisor (seed §6.6 agent_resource_metrics)
// and the agents' own reported metrics (seed §10 agent_metrics), indexed by (agent_id, time).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_resource_metrics', (t) => {
    t.bigIncrements('id');
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.string('metric_type', 50).notNullable();
    t.double('metric_value').notNullable();
    t.double('threshold_value');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['agent_id', 'created_at'], 'agent_resource_metrics_agent_time_idx');
    t.index(['agent_id', 'metric_type', 'created_at'], 'agent_resource_metrics_agent_type_time_idx');
  });
  await knex.schema.createTable('agent_metrics', (t) => {
    t.bigIncrements('id');
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.double('value').notNullable();
    t.timestamp('timestamp', { useTz: true, precision: 3 }).notNullable();
    t.index(['agent_id', 'timestamp'], 'agent_metrics_agent_time_idx');
    t.index(['agent_id', 'name', 'timestamp'], 'agent_metrics_agent_name_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_metrics');
  await knex.schema.dropTable('agent_resource_metrics');
}
