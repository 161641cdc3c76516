// Recovery attempts (seed §6.6): one row per attempt with strategy, outcome and timing.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_recovery_attempts', (t) => {
    t.increments('id');
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.integer('attempt_number').notNullable();
    t.string('recovery_strategy', 50).notNullable();
    t.string('status', 20).notNullable();
    t.text('error');
    t.timestamp('started_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('completed_at', { useTz: true, precision: 3 });
    t.index(['agent_id', 'started_at'], 'agent_recovery_attempts_agent_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_recovery_attempts');
}
