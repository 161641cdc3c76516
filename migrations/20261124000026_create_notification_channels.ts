// Named notification channels (webhook, email) managed through the API. Secrets (webhook
// URL, SMTP password) are kept encrypted in `secrets`, apart from the settings that may be shown.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notification_channels', (t) => {
    t.string('name', 64).primary();
    t.string('type', 16).notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.string('min_severity', 16);
    t.jsonb('settings').notNullable().defaultTo('{}');
    t.text('secrets');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.string('updated_by', 128);
  });
  await knex.raw(`ALTER TABLE notification_channels ADD CONSTRAINT notification_channels_type_check CHECK (type IN ('webhook', 'email'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('notification_channels');
}
