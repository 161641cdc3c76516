// What each agent declared its own numbers to be (the metrics message's `meta`): counter or
// gauge, and a unit. One row per agent and name, replaced when the declaration changes.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_metric_kinds', (t) => {
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.string('name', 100).notNullable();
    t.string('kind', 16).notNullable();
    t.string('unit', 32);
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.primary(['agent_id', 'name']);
  });
  await knex.raw(`ALTER TABLE agent_metric_kinds ADD CONSTRAINT agent_metric_kinds_kind_check CHECK (kind IN ('counter', 'gauge'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_metric_kinds');
}
