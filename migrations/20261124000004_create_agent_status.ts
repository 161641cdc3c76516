// Current status per agent and its history (seed §6.6): one status row per agent,
// one history row per transition with its cause in JSONB details.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_status', (t) => {
    t.increments('id');
    t.string('agent_id', 128).notNullable().unique().references('agents.id').onDelete('CASCADE');
    t.string('process_status', 20).notNullable();
    t.string('health_status', 20).notNullable();
    t.string('recovery_status', 20).notNullable();
    t.integer('pid');
    t.timestamp('start_time', { useTz: true, precision: 3 });
    t.timestamp('last_heartbeat', { useTz: true, precision: 3 });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['process_status'], 'agent_status_process_idx');
    t.index(['health_status'], 'agent_status_health_idx');
  });
  await knex.schema.createTable('agent_status_history', (t) => {
    t.bigIncrements('id');
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.string('event_type', 50).notNullable();
    t.string('from_status', 20);
    t.string('to_status', 20);
    t.jsonb('details');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['agent_id', 'created_at', 'id'], 'agent_status_history_agent_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_status_history');
  await knex.schema.dropTable('agent_status');
}
