// Desired state (issue 13): what should run, written only by intent, beside the host the agent
// belongs to. An agent instance is (package, host): names are unique per host (agents
// registered through the API have no host and stay unique among themselves). Agents that were
// running, starting, degraded or in recovery should run; the others should not.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agents', (t) => {
    t.string('desired_state', 10).notNullable().defaultTo('stopped');
    t.boolean('held').notNullable().defaultTo(false);
    t.text('held_reason');
    t.string('host_id', 64).references('hosts.id').onDelete('SET NULL');
    t.integer('restart_generation').notNullable().defaultTo(0);
    t.integer('recover_generation').notNullable().defaultTo(0);
    t.jsonb('intent');
    t.index(['host_id'], 'agents_host_idx');
  });
  await knex.raw(
    `UPDATE agents a SET desired_state = 'running'
       FROM agent_status s
      WHERE s.agent_id = a.id AND (s.process_status IN ('starting', 'running', 'degraded') OR s.recovery_status = 'in_progress')`,
  );
  await knex.schema.alterTable('agents', (t) => t.dropUnique(['name']));
  await knex.raw(`CREATE UNIQUE INDEX agents_host_name_unique ON agents ((COALESCE(host_id, '')), name)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX agents_host_name_unique');
  await knex.schema.alterTable('agents', (t) => {
    t.unique(['name']);
    t.dropIndex(['host_id'], 'agents_host_idx');
    for (const c of ['desired_state', 'held', 'held_reason', 'host_id', 'restart_generation', 'recover_generation', 'intent']) t.dropColumn(c);
  });
}
