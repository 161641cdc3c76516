// The event outbox (issue 14): every event that records state (status, health, recovery, config,
// alerts, packages, hosts) is written here in the same transaction as the change, and published
// from here to the JetStream stream OPMAS_EVENTS with its id as the message id, so a replica that
// dies between the commit and the publication loses nothing and nothing is published twice.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('event_outbox', (t) => {
    t.bigIncrements('id');
    t.string('type', 64).notNullable();
    t.jsonb('event').notNullable();
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('event_outbox');
}
