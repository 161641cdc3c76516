// What agents report about themselves (status, detail, uptime from heartbeats), and a
// disabled flag on agents (a disabled agent's NATS credentials are revoked).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agent_status', (t) => {
    t.string('reported_status', 20);
    t.text('reported_detail');
    t.double('uptime_s');
  });
  await knex.schema.alterTable('agents', (t) => {
    t.boolean('disabled').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('agents', (t) => t.dropColumn('disabled'));
  await knex.schema.alterTable('agent_status', (t) => {
    t.dropColumn('reported_status');
    t.dropColumn('reported_detail');
    t.dropColumn('uptime_s');
  });
}
