// Revoked login sessions (refresh-token families): every access token carries its family id
// (`sid`), and each request is checked against this table (through a cache at most 2 s old), so
// a family revoked on one AMS replica is refused by every replica sharing the database. Rows are
// needed only until the family's last access token expires.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('revoked_sessions', (t) => {
    t.uuid('family_id').primary();
    t.string('reason', 32).notNullable();
    t.timestamp('revoked_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
    t.index(['expires_at'], 'revoked_sessions_expires_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('revoked_sessions');
}
