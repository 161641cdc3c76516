// What the supervisor knows about an agent's process beyond its status: how it last ended
// (exit code, signal), which stored config version it runs and since when, and the last
// version it ran healthy under (for the config-aware crash-loop guard).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_status', (t) => {
    t.integer('exit_code');
    t.string('exit_signal', 16);
    t.integer('config_version');
    t.timestamp('config_since', { useTz: true, precision: 3 });
    t.integer('stable_config_version');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_status', (t) => {
    t.dropColumn('exit_code');
    t.dropColumn('exit_signal');
    t.dropColumn('config_version');
    t.dropColumn('config_since');
    t.dropColumn('stable_config_version');
  });
}
