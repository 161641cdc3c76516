// Agent packages found on disk by the scanner (seed §3): every package, valid or not, with
// its parsed fields, status and every reason.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_packages', (t) => {
    t.string('path', 255).primary();
    t.string('agent_name', 64);
    t.string('agent_version', 64);
    t.string('agent_type', 50);
    t.jsonb('fields').notNullable().defaultTo('{}');
    t.string('status', 20).notNullable();
    t.jsonb('reasons').notNullable().defaultTo('[]');
    t.string('agent_id', 128).references('agents.id').onDelete('SET NULL');
    t.string('checksum', 64);
    t.timestamp('discovered_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['status'], 'agent_packages_status_idx');
    t.index(['agent_id'], 'agent_packages_agent_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_packages');
}
