// The alert engine's state in the database (issue 14), so that whichever API replica runs it
// next goes on where the last one stopped: how far into the event stream it has evaluated
// (a redelivered event changes nothing), and each agent's recent failures (the crash-loop
// window), instead of one replica's memory.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alert_engine_position', (t) => {
    t.string('name', 64).primary();
    t.bigInteger('last_seq').notNullable();
    // The stream the position is in (its creation time): a stream made again starts over at 1.
    t.string('stream', 64);
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
  await knex.schema.createTable('alert_failures', (t) => {
    t.bigIncrements('id');
    t.string('agent_id', 128).notNullable();
    t.timestamp('failed_at', { useTz: true, precision: 3 }).notNullable();
    t.index(['agent_id', 'failed_at'], 'alert_failures_agent_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alert_failures');
  await knex.schema.dropTable('alert_engine_position');
}
