// RBAC identities: roles (built-in and custom) and users with hashed passwords. A user's
// token_version is bumped to invalidate every access token it holds at once.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('roles', (t) => {
    t.string('name', 64).primary();
    t.text('description');
    t.jsonb('permissions').notNullable();
    t.boolean('builtin').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary();
    t.string('username', 64).notNullable().unique();
    t.text('password_hash');
    t.string('role', 64).notNullable().references('roles.name').onUpdate('CASCADE');
    t.string('agent_id', 128).references('agents.id').onDelete('SET NULL');
    t.integer('token_version').notNullable().defaultTo(0);
    t.boolean('disabled').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('users');
  await knex.schema.dropTable('roles');
}
