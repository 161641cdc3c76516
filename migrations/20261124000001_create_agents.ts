// Agents (seed §10 agent table): one row per registered agent, labels for grouping.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  await knex.schema.createTable('agents', (t) => {
    t.string('id', 128).primary();
    t.string('name', 64).notNullable().unique();
    t.string('type', 50).notNullable();
    t.string('version', 64).notNullable();
    t.text('description');
    t.jsonb('subscribed_topics').notNullable().defaultTo('[]');
    t.string('findings_topic', 255);
    t.jsonb('labels').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.index(['created_at', 'id'], 'agents_created_at_id_idx');
    t.index(['type', 'created_at', 'id'], 'agents_type_created_at_id_idx');
  });
  await knex.raw('CREATE INDEX agents_labels_idx ON agents USING GIN (labels jsonb_path_ops)');
  await knex.raw('CREATE INDEX agents_name_trgm_idx ON agents USING GIN (name gin_trgm_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agents');
}
