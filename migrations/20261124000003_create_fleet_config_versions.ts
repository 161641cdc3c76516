// Fleet-wide stored settings (seed §9 GET/PUT /config), versioned like an agent's; the
// newest version is current.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fleet_config_versions', (t) => {
    t.increments('id');
    t.integer('version').notNullable().unique();
    t.jsonb('config').notNullable();
    t.string('author', 255).notNullable();
    t.text('reason');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('fleet_config_versions');
}
