// Status history by time alone, for the fleet's state counts over a range (GET /status/counts
// reads every transition since `from` across all agents).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX agent_status_history_created_at_idx ON agent_status_history (created_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS agent_status_history_created_at_idx');
}
