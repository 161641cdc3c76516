// Runtime configuration (seed §5.4): whether the running agent applied a stored version
// (`applied`) or refused it (`rejected`, with its reason), and when.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_config_versions', (t) => {
    t.string('apply_status', 20);
    t.text('apply_error');
    t.timestamp('applied_at', { useTz: true, precision: 3 });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_config_versions', (t) => {
    t.dropColumn('apply_status');
    t.dropColumn('apply_error');
    t.dropColumn('applied_at');
  });
}
