// Singleton work across API replicas (the observation applier, the host monitor): a PostgreSQL
// session advisory lock held on a connection of its own (outside the pool) for as long as the work runs. When the
// holder dies its session ends and the lock is free for the next replica, which takes it within
// `retryMs`; a holder whose connection is lost stops acting at once. PGlite serves one process,
// so there the lock is simply held (and no connection is put aside: it has only one).
import type { Logger } from 'pino';
import type { Database } from './database.js';
import type { Queryable } from './agents.repo.js';

/** Advisory lock keys of the singletons ("opm" + n; retention is 1). */
export const SINGLETON_KEYS = {
  observationApplier: 0x6f706d02,
  hostMonitor: 0x6f706d03,
  outboxPublisher: 0x6f706d04,
  alertSweep: 0x6f706d05,
  revocationPush: 0x6f706d06,
  externalHealth: 0x6f706d07,
  /** The metric rollup job (a session lock per run, server/db/advisory-lock.ts). */
  metricRollups: 0x6f706d08,
} as const;

/**
 * Runs `fn` while no other replica runs work under the same key: a transaction-level advisory
 * lock on PostgreSQL (released at commit or rollback, and when the holder's session dies), with
 * `fn` inside that transaction. PGlite serves one process, which serializes its own callers, so
 * there `fn` runs on the plain connection (no transaction held open across `fn`'s awaits).
 */
export async function withClusterLock<T>(db: Database, key: number, fn: (q: Queryable) => Promise<T>): Promise<T> {
  if (db.kind === 'pglite') return fn(db.knex);
  return db.knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?::bigint)', [key]);
    return fn(trx);
  });
}

type PgClient = {
  query(sql: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  on(e: string, l: (...a: unknown[]) => void): void;
  removeListener(e: string, l: (...a: unknown[]) => void): void;
  end(): Promise<void>;
};

export interface SingletonLock {
  /** Keeps trying to take the lock; calls `onAcquired` when it is held and `onLost` when it is lost. */
  start(onAcquired: () => void, onLost: () => void): void;
  held(): boolean;
  stop(): Promise<void>;
}

export function createSingletonLock(db: Database, key: number, logger: Logger, opts: { retryMs?: number; checkMs?: number; name: string }): SingletonLock {
  const retryMs = opts.retryMs ?? 2000;
  const checkMs = opts.checkMs ?? 2000;
  let held = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let conn: PgClient | undefined;
  let lost: (() => void) | undefined;

  async function release(): Promise<void> {
    const c = conn;
    conn = undefined;
    if (!c) return;
    c.removeListener('error', onConnError);
    // Ending the session releases its lock.
    await c.end().catch(() => undefined);
  }

  function loseIt(why: string): void {
    if (!held) return;
    held = false;
    logger.warn({ singleton: opts.name, why }, 'lost the singleton lock; stopping that work here');
    lost?.();
    void release();
  }
  const onConnError = (err: unknown) => loseIt((err as Error)?.message ?? 'connection error');

  async function attempt(onAcquired: () => void): Promise<void> {
    if (stopped) return;
    if (held) {
      try {
        await conn!.query('SELECT 1');
      } catch (err) {
        loseIt((err as Error).message);
      }
      return;
    }
    let c: PgClient | undefined;
    try {
      const got = (await db.session!()) as unknown as PgClient;
      c = got;
      const { rows } = await got.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
      if (!rows[0]?.ok) {
        await got.end().catch(() => undefined);
        return;
      }
      conn = got;
      got.on('error', onConnError);
      held = true;
      logger.info({ singleton: opts.name }, 'holding the singleton lock');
      onAcquired();
    } catch (err) {
      if (c && c !== conn) await c.end().catch(() => undefined);
      logger.debug({ singleton: opts.name, err: (err as Error).message }, 'singleton lock not taken this time');
    }
  }

  return {
    start(onAcquired, onLost) {
      lost = onLost;
      if (db.kind === 'pglite') {
        held = true;
        onAcquired();
        return;
      }
      const tick = () => {
        void attempt(onAcquired).finally(() => {
          if (!stopped) {
            timer = setTimeout(tick, held ? checkMs : retryMs);
            timer.unref();
          }
        });
      };
      tick();
    },
    held: () => held,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      held = false;
      await release();
    },
  };
}
