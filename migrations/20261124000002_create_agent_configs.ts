// Agent configuration: the current stored settings per key (seed §10 agent_configs) and
// every version as a full snapshot with author, time and reason.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_configs', (t) => {
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.string('key', 255).notNullable();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.primary(['agent_id', 'key']);
  });
  await knex.schema.createTable('agent_config_versions', (t) => {
    t.increments('id');
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.jsonb('config').notNullable();
    t.string('author', 255).notNullable();
    t.text('reason');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.unique(['agent_id', 'version']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_config_versions');
  await knex.schema.dropTable('agent_configs');
}
