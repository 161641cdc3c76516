// Retention of the time-series tables on a timer: raw metric samples older than
// `metricsRetentionDays`, metric rollups older than their level's days, agent logs older than
// `logRetentionDays` and beyond the newest `logMaxRowsPerAgent` lines of each agent. Samples the
// next rollup level has not taken in yet are kept (up to twice their days), so that a rollup job
// that was down catches up from them. Deletes go in bounded batches so that a large prune
// never holds locks for long or starves other queries (PGlite has one connection).
//
// Several AMS replicas may share one PostgreSQL: each run takes a session-level advisory lock
// (pg_try_advisory_lock) on a connection of its own, and a replica that does not get it skips
// the run. PGlite supports advisory locks too, but it is one process with one connection, so
// no other replica can contend and holding a connection aside would block every other query:
// there the lock is not taken.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { withAdvisoryLock } from '../db/advisory-lock.js';
import { periodicJob } from '../util/periodic-job.js';
import { logsRepo } from '../db/logs.repo.js';
import { metricsRepo } from '../db/metrics.repo.js';
import { metricRollupsRepo } from '../db/metric-rollups.repo.js';
import type { RollupLevel } from '../domain/metric-rollups.js';

/** pg_advisory_lock key of the retention job ("opm" + 1). */
export const RETENTION_LOCK_KEY = 0x6f706d01;

export interface RetentionSettings {
  metricsRetentionDays: number;
  /** Days of 1-minute, 5-minute and 1-hour rollups; defaults 30, 90, 365. */
  metrics1mRetentionDays?: number;
  metrics5mRetentionDays?: number;
  metrics1hRetentionDays?: number;
  logRetentionDays: number;
  logMaxRowsPerAgent: number;
}

export interface RetentionResult {
  /** False when another replica held the lock. */
  ran: boolean;
  deleted: { agent_resource_metrics: number; agent_metrics: number; agent_logs_by_age: number; agent_logs_by_count: number };
  /** Rollup buckets deleted per level. */
  rollups_deleted: Record<RollupLevel, number>;
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

  /** Repeats a bounded delete until a batch comes back short; answers the total. */
  async function drain(step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      if (job.stopped()) return total;
      const n = await step();
      total += n;
      if (n < batch) return total;
      await yieldToOthers();
    }
  }

  async function prune(): Promise<Pick<RetentionResult, 'deleted' | 'rollups_deleted'>> {
    const metrics = metricsRepo(db.knex);
    const rollups = metricRollupsRepo(db.knex);
    const logs = logsRepo(db.knex);
    const t = now();
    const watermarks = await rollups.state();
    // Older than its days, unless the next level has not rolled it up yet (then kept up to twice its days).
    const cutoff = (days: number, next?: RollupLevel) => {
      const byAge = t - days * DAY_MS;
      const rolled = next === undefined ? undefined : watermarks.get(next);
      return new Date(rolled === undefined ? byAge : Math.max(Math.min(byAge, rolled), t - 2 * days * DAY_MS));
    };
    const metricsBefore = cutoff(settings.metricsRetentionDays, '1m');
    const logsBefore = new Date(t - settings.logRetentionDays * DAY_MS);
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
    const rollupsBefore: Record<RollupLevel, Date> = {
      '1m': cutoff(settings.metrics1mRetentionDays ?? 30, '5m'),
      '5m': cutoff(settings.metrics5mRetentionDays ?? 90, '1h'),
      '1h': cutoff(settings.metrics1hRetentionDays ?? 365),
    };
    const rollups_deleted: Record<RollupLevel, number> = { '1m': 0, '5m': 0, '1h': 0 };
    for (const level of ['1m', '5m', '1h'] as const) rollups_deleted[level] = await drain(() => rollups.pruneBatch(level, rollupsBefore[level], batch));
    return { deleted, rollups_deleted };
  }

  async function runOnce(): Promise<RetentionResult> {
    const started = performance.now();
    const pruned = await withAdvisoryLock(db, RETENTION_LOCK_KEY, prune);
    const result: RetentionResult = {
      ran: pruned !== undefined,
      deleted: pruned?.deleted ?? { agent_resource_metrics: 0, agent_metrics: 0, agent_logs_by_age: 0, agent_logs_by_count: 0 },
      rollups_deleted: pruned?.rollups_deleted ?? { '1m': 0, '5m': 0, '1h': 0 },
      ms: performance.now() - started,
    };
    const total = [...Object.values(result.deleted), ...Object.values(result.rollups_deleted)].reduce((a, b) => a + b, 0);
    if (!result.ran) logger.debug('retention skipped: another AMS holds the lock');
    else if (total > 0) logger.info({ deleted: result.deleted, rollups_deleted: result.rollups_deleted, ms: Math.round(result.ms) }, 'retention pruned old rows');
    return result;
  }

  const every = deps.intervalMs ?? 600_000;
  const job = periodicJob(runOnce, { everyMs: every, firstDelayMs: Math.min(60_000, every), onError: (err) => logger.warn({ err: err.message }, 'retention run failed') });
  return {
    /** One pruning run now (a run already in progress is joined, not repeated). */
    run: () => job.run(),
    start: () => job.start(),
    stop: () => job.stop(),
  };
}
