// Agent logs (seed §10 agent_logs): level, message, time, plus structured context and
// where the line came from (stdout, stderr, nats).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_logs', (t) => {
    t.bigIncrements('id');
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.string('level', 10).notNullable();
    t.text('message').notNullable();
    t.jsonb('context');
    t.string('source', 16);
    t.timestamp('timestamp', { useTz: true, precision: 3 }).notNullable();
    t.index(['agent_id', 'timestamp', 'id'], 'agent_logs_agent_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_logs');
}
