// A partial index on the history rows that count restarts (event_type process_started), so
// the Prometheus exposition counts them per agent without reading the rest of the history.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE INDEX agent_status_history_started_idx ON agent_status_history (agent_id) WHERE event_type = 'process_started'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS agent_status_history_started_idx');
}
