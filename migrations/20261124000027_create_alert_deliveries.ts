// One row per notification of an alert to a channel: what was sent (raised, escalated,
// resolved), how many attempts it took and how it ended.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alert_deliveries', (t) => {
    t.bigIncrements('id');
    t.bigInteger('alert_id').notNullable().references('alerts.id').onDelete('CASCADE');
    t.string('channel', 64).notNullable();
    t.string('channel_type', 16).notNullable();
    t.string('kind', 16).notNullable();
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['alert_id', 'id'], 'alert_deliveries_alert_idx');
    t.index(['status', 'created_at'], 'alert_deliveries_status_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alert_deliveries');
}
