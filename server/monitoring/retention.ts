// Retention of the time-series tables on a timer: raw metric samples older than
// `metricsRetentionDays`, agent logs older than `logRetentionDays` and beyond the newest
// `logMaxRowsPerAgent` lines of each agent. Deletes go in bounded batches so that a large prune
// never holds locks for long or starves other queries (PGlite has one connection).
//
// Several AMS replicas may share one PostgreSQL: each run takes a session-level advisory lock
// (pg_try_advisory_lock) on a connection of its own, and a replica that does not get it skips
// the run. PGlite supports advisory locks too, but it is one process with one connection, so
// no other replica can contend and holding a connection aside would block every other query:
// there the lock is not taken.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { logsRepo } from '../db/logs.repo.js';
import { metricsRepo } from '../db/metrics.repo.js';

/** pg_advisory_lock key of the retention job ("opm" + 1). */
export const RETENTION_LOCK_KEY = 0x6f706d01;

export interface RetentionSettings {
  metricsRetentionDays: number;
  logRetentionDays: number;
  logMaxRowsPerAgent: number;
}

export interface RetentionResult {
  /** False when another replica held the lock. */
  ran: boolean;
  deleted: { agent_resource_metrics: number; agent_metrics: number; agent_logs_by_age: number; agent_logs_by_count: number };
  ms: number;
}

export interface RetentionDeps {
  db: Database;
  logger: Logger;
  settings: RetentionSettings;
  /** Between runs; default 10 minutes. The first run is a minute after start (or one interval, if shorter). */
  intervalMs?: number;
  /** Rows per DELETE; default 5000. */
  batch?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Retention = ReturnType<typeof createRetention>;

export function createRetention(deps: RetentionDeps) {
  const { db, logger, settings } = deps;
  const batch = deps.batch ?? 5000;
  const now = deps.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<RetentionResult> | undefined;
  let stopped = false;

  /** Repeats a bounded delete until a batch comes back short; answers the total. */
  async function drain(step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      if (stopped) return total;
      const n = await step();
      total += n;
      if (n < batch) return total;
      await yieldToOthers();
    }
  }

  async function prune(): Promise<RetentionResult['deleted']> {
    const metrics = metricsRepo(db.knex);
    const logs = logsRepo(db.knex);
    const metricsBefore = new Date(now() - settings.metricsRetentionDays * DAY_MS);
    const logsBefore = new Date(now() - settings.logRetentionDays * DAY_MS);
    const deleted = {
      agent_resource_metrics: await drain(() => metrics.pruneBatch('agent_resource_metrics', metricsBefore, batch)),
      agent_metrics: await drain(() => metrics.pruneBatch('agent_metrics', metricsBefore, batch)),
      agent_logs_by_age: await drain(() => logs.pruneOlderThan(logsBefore, batch)),
      agent_logs_by_count: 0,
    };
    for (const agentId of await logs.agentsWithLogs()) {
      const cut = await logs.cutoff(agentId, settings.logMaxRowsPerAgent);
      if (cut) deleted.agent_logs_by_count += await drain(() => logs.pruneAgentUpTo(agentId, cut, batch));
    }
    return deleted;
  }

  /** Runs `fn` holding the advisory lock on PostgreSQL; undefined when another replica holds it. */
  async function withLock<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (db.kind === 'pglite') return fn();
    const client = db.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
    const conn = await client.acquireConnection();
    const onConn = (sql: string) => db.knex.raw(sql, [RETENTION_LOCK_KEY]).connection(conn as Knex.Client) as unknown as Promise<{ rows: Array<{ ok: boolean }> }>;
    try {
      const { rows } = await onConn('SELECT pg_try_advisory_lock(?::bigint) AS ok');
      if (!rows[0]?.ok) return undefined;
      try {
        return await fn();
      } finally {
        await onConn('SELECT pg_advisory_unlock(?::bigint) AS ok');
      }
    } finally {
      await client.releaseConnection(conn);
    }
  }

  async function runOnce(): Promise<RetentionResult> {
    const started = performance.now();
    const deleted = await withLock(prune);
    const result: RetentionResult = {
      ran: deleted !== undefined,
      deleted: deleted ?? { agent_resource_metrics: 0, agent_metrics: 0, agent_logs_by_age: 0, agent_logs_by_count: 0 },
      ms: performance.now() - started,
    };
    const total = Object.values(result.deleted).reduce((a, b) => a + b, 0);
    if (!result.ran) logger.debug('retention skipped: another AMS holds the lock');
    else if (total > 0) logger.info({ deleted: result.deleted, ms: Math.round(result.ms) }, 'retention pruned old rows');
    return result;
  }

  /** One pruning run now (a run already in progress is joined, not repeated). */
  function run(): Promise<RetentionResult> {
    current ??= runOnce().finally(() => (current = undefined));
    return current;
  }

  return {
    run,
    start(): void {
      const every = deps.intervalMs ?? 600_000;
      stopped = false;
      const tick = (delay: number) => {
        timer = setTimeout(() => {
          void run()
            .catch((err: Error) => logger.warn({ err: err.message }, 'retention run failed'))
            .finally(() => !stopped && tick(every));
        }, delay);
        timer.unref();
      };
      tick(Math.min(60_000, every));
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await current?.catch(() => undefined);
    },
  };
}
