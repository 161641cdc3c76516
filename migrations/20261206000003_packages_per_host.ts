// Packages are keyed by (host, path): each host's supervisor scans its own agents directory.
// launch_error says why a valid package cannot be started on its host (its command cannot be
// resolved there), so the API can refuse a start without asking the host. package_scans keeps
// each scan's progress where every API replica can read it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_packages', (t) => {
    t.dropPrimary();
  });
  await knex.schema.alterTable('agent_packages', (t) => {
    t.bigIncrements('id').primary();
    t.string('host_id', 64).references('hosts.id').onDelete('CASCADE');
    t.text('launch_error');
    t.unique(['host_id', 'path'], { indexName: 'agent_packages_host_path_unique' });
  });
  await knex.schema.createTable('package_scans', (t) => {
    t.string('id', 64).primary();
    t.string('host_id', 64).notNullable().references('hosts.id').onDelete('CASCADE');
    t.string('trigger', 16).notNullable();
    t.string('status', 16).notNullable();
    t.integer('total');
    t.integer('done').notNullable().defaultTo(0);
    t.jsonb('counts').notNullable().defaultTo('{}');
    t.text('error');
    t.timestamp('started_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('finished_at', { useTz: true, precision: 3 });
    t.index(['host_id', 'started_at'], 'package_scans_host_time_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('package_scans');
  await knex.schema.alterTable('agent_packages', (t) => {
    t.dropUnique(['host_id', 'path'], 'agent_packages_host_path_unique');
    t.dropColumn('launch_error');
    t.dropColumn('host_id');
    t.dropColumn('id');
  });
  await knex.schema.alterTable('agent_packages', (t) => t.primary(['path']));
}
