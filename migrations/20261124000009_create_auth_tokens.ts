// Tokens, stored hashed: rotating refresh tokens grouped in families (reuse revokes the
// family), long-lived API tokens for automation, and revoked access-token ids until expiry.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('refresh_tokens', (t) => {
    t.uuid('id').primary();
    t.uuid('family_id').notNullable();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('used_at', { useTz: true, precision: 3 });
    t.timestamp('revoked_at', { useTz: true, precision: 3 });
    t.index(['family_id'], 'refresh_tokens_family_idx');
    t.index(['user_id'], 'refresh_tokens_user_idx');
  });
  await knex.schema.createTable('api_tokens', (t) => {
    t.uuid('id').primary();
    t.string('name', 128).notNullable();
    t.string('role', 64).notNullable().references('roles.name').onUpdate('CASCADE');
    t.string('agent_id', 128).references('agents.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.string('created_by', 128).notNullable();
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('expires_at', { useTz: true, precision: 3 });
    t.timestamp('last_used_at', { useTz: true, precision: 3 });
    t.timestamp('revoked_at', { useTz: true, precision: 3 });
    t.index(['created_at', 'id'], 'api_tokens_created_idx');
  });
  await knex.schema.createTable('revoked_access_tokens', (t) => {
    t.string('jti', 64).primary();
    t.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('revoked_access_tokens');
  await knex.schema.dropTable('api_tokens');
  await knex.schema.dropTable('refresh_tokens');
}
