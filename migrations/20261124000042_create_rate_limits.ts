// Rate-limit counters shared by every AMS replica on this database (login, setup and failed
// authentication, per address or username). The columns are the ones rate-limiter-flexible's
// RateLimiterPostgres reads and writes (`key`, `points`, `expire` in epoch ms); it is created
// here rather than by the library at run time, so that the AMS needs no DDL rights after migrating.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('key', 255).primary();
    t.integer('points').notNullable().defaultTo(0);
    t.bigInteger('expire');
    t.index(['expire'], 'rate_limits_expire_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
}
