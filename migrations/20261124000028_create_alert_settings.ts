// Alert settings kept in the database (one JSONB value per key), e.g. `routing`: which
// channels get which alerts. Environment variables give the defaults.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alert_settings', (t) => {
    t.string('key', 64).primary();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.string('updated_by', 128);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alert_settings');
}
