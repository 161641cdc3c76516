// The shared store of rate-limit counters: rate-limiter-flexible's PostgreSQL limiter on the
// `rate_limits` table (created by a migration, never at run time), so that every AMS replica
// on one database counts against the same limit. PGlite serves it through the same driver.
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import type { Database } from './database.js';

export interface SharedLimiterOptions {
  /** Distinguishes the limiters sharing the table (`login-ip`, `auth-fail`, ...). */
  keyPrefix: string;
  points: number;
  durationS: number;
}

export const RATE_LIMIT_TABLE = 'rate_limits';

/** A limiter whose counters live in the database. Errors (database unreachable) reach the caller. */
export function createSharedLimiter(db: Database, opts: SharedLimiterOptions): RateLimiterPostgres {
  return new RateLimiterPostgres({
    storeClient: db.knex,
    storeType: 'knex',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    // Expired rows are pruned by pruneRateLimits on the AMS's own timer, which stops with it.
    clearExpiredByTimeout: false,
    keyPrefix: opts.keyPrefix,
    points: opts.points,
    duration: opts.durationS,
  });
}

/** Deletes counters whose window ended more than a minute ago. */
export async function pruneRateLimits(db: Database): Promise<number> {
  return db.knex(RATE_LIMIT_TABLE).where('expire', '<', Date.now() - 60_000).delete();
}
