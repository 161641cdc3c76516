// metric_rollups_1m/5m/1h, metric_rollup_state and metric_rollup_dirty: the rollup job's SQL
// (a stretch of the raw samples into 1-minute buckets, a finer level into a coarser one, both
// idempotent upserts), its watermarks, the minutes marked dirty by late samples, and pruning.
import type { Knex } from 'knex';
import type { Queryable } from './agents.repo.js';
import { LEVEL_MS, type RollupLevel } from '../domain/metric-rollups.js';
import { PREDECESSOR } from './metrics.repo.js';

export interface DirtyMinute {
  agent_id: string;
  /** Epoch ms. */
  minute: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const table = (level: RollupLevel) => `metric_rollups_${level}`;
const bucketStart = (column: string, ms: number) => `to_timestamp(floor(date_part('epoch', ${column}) / ${ms / 1000}) * ${ms / 1000})`;
/**
 * A sum of seconds rounded to the microsecond (the timestamps' precision): a float sum depends on
 * the order rows reach it, which a plan may change between two runs over the same rows; rounded,
 * rolling a range again writes the very same buckets.
 */
const exactSeconds = (sum: string) => `round((${sum} * 1e6)::numeric) / 1e6`;
const UPSERT = `ON CONFLICT (agent_id, bucket, name) DO UPDATE SET
  count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, inc = excluded.inc, secs = excluded.secs`;

/**
 * Samples of both tables in [lo, hi) (of one agent, or all), each with its increase over its
 * predecessor (looked up before `lo` for the first sample of a series) and the seconds between
 * them, summed into 1-minute buckets. A drop counts as a restart from zero; samples with the same
 * time are ordered by value, as the series queries order them. The predecessor is looked up by
 * metrics.repo.ts's PREDECESSOR (the name as a range of one, so the (agent, name, time) index is used).
 */
function rawToMinutes(agentId: string | undefined): string {
  const agent = (col: string) => (agentId === undefined ? '' : `${col} = ? AND `);
  return `
    WITH s AS (
      SELECT agent_id, metric_type AS name, metric_value AS value, created_at AS ts FROM agent_resource_metrics
       WHERE ${agent('agent_id')}created_at >= ?::timestamptz AND created_at < ?::timestamptz
      UNION ALL
      SELECT agent_id, name, value, timestamp FROM agent_metrics
       WHERE ${agent('agent_id')}timestamp >= ?::timestamptz AND timestamp < ?::timestamptz),
    prev AS (
      SELECT p.agent_id, p.name, x.value, x.ts FROM (SELECT DISTINCT agent_id, name FROM s) p ${PREDECESSOR}),
    d AS (
      SELECT agent_id, name, value, ts, own, value - lag(value) OVER w AS dv, date_part('epoch', ts - lag(ts) OVER w) AS dt
      FROM (SELECT agent_id, name, value, ts, true AS own FROM s UNION ALL SELECT agent_id, name, value, ts, false FROM prev) z
      WINDOW w AS (PARTITION BY agent_id, name ORDER BY ts, value))
    INSERT INTO metric_rollups_1m (agent_id, name, bucket, count, sum, min, max, inc, secs)
    SELECT d.agent_id, d.name, ${bucketStart('d.ts', 60_000)}, count(*), sum(d.value), min(d.value), max(d.value),
           sum(CASE WHEN d.dv IS NULL THEN NULL WHEN d.dv >= 0 THEN d.dv ELSE d.value END), ${exactSeconds('sum(d.dt)')}
    FROM d JOIN agents a ON a.id = d.agent_id
    WHERE d.own
    GROUP BY 1, 2, 3
    ${UPSERT}`;
}

export function metricRollupsRepo(q: Queryable) {
  return {
    /** Watermarks by level (epoch ms); a level never run is absent. */
    async state(): Promise<Map<RollupLevel, number>> {
      const rows = await q('metric_rollup_state').select<Array<{ level: RollupLevel; rolled_until: Date }>>('level', 'rolled_until');
      return new Map(rows.map((r) => [r.level, new Date(r.rolled_until).getTime()]));
    },

    /**
     * Locks the watermark rows until the transaction ends: the late-sample trigger waits for it,
     * so a sample inserted meanwhile is either read by this chunk or marked dirty after it.
     */
    async lockState(): Promise<void> {
      await q.raw('SELECT level FROM metric_rollup_state FOR UPDATE');
    },

    async setRolledUntil(level: RollupLevel, ms: number): Promise<void> {
      await q.raw(
        `INSERT INTO metric_rollup_state (level, rolled_until, updated_at) VALUES (?, ?::timestamptz, now())
         ON CONFLICT (level) DO UPDATE SET rolled_until = excluded.rolled_until, updated_at = now()`,
        [level, iso(ms)],
      );
    },

    /** The database's clock (epoch ms): watermarks follow it, not the AMS's. */
    async now(): Promise<number> {
      const { rows } = (await q.raw(`SELECT (date_part('epoch', clock_timestamp()) * 1000)::float8 AS ms`)) as { rows: Array<{ ms: number }> };
      return rows[0].ms;
    },

    /** Rolls raw samples of [lo, hi) into 1-minute buckets (one agent's, or all); answers the buckets written. */
    async rollRaw(loMs: number, hiMs: number, agentId?: string): Promise<number> {
      const range = [iso(loMs), iso(hiMs)];
      const one = agentId === undefined ? range : [agentId, ...range];
      const res = await q.raw(rawToMinutes(agentId), [...one, ...one, iso(loMs), iso(loMs)]);
      return (res as { rowCount?: number }).rowCount ?? 0;
    },

    /** Rolls buckets of `from` in [lo, hi) into buckets of `to` (one agent's, or all); answers the buckets written. */
    async rollLevel(from: RollupLevel, to: RollupLevel, loMs: number, hiMs: number, agentId?: string): Promise<number> {
      const res = await q.raw(
        `INSERT INTO ${table(to)} (agent_id, name, bucket, count, sum, min, max, inc, secs)
         SELECT agent_id, name, ${bucketStart('bucket', LEVEL_MS[to])}, sum(count), sum(sum), min(min), max(max), sum(inc), ${exactSeconds('sum(secs)')}
         FROM ${table(from)}
         WHERE ${agentId === undefined ? '' : 'agent_id = ? AND '}bucket >= ?::timestamptz AND bucket < ?::timestamptz
         GROUP BY 1, 2, 3
         ${UPSERT}`,
        [...(agentId === undefined ? [] : [agentId]), iso(loMs), iso(hiMs)],
      );
      return (res as { rowCount?: number }).rowCount ?? 0;
    },

    /** The earliest sample (epoch ms) at or after `fromMs` in the raw tables, or undefined. */
    async nextRawTime(fromMs: number): Promise<number | undefined> {
      const { rows } = (await q.raw(
        `SELECT (date_part('epoch', least(
           (SELECT min(created_at) FROM agent_resource_metrics WHERE created_at >= ?::timestamptz),
           (SELECT min(timestamp) FROM agent_metrics WHERE timestamp >= ?::timestamptz))) * 1000)::float8 AS ms`,
        [iso(fromMs), iso(fromMs)],
      )) as { rows: Array<{ ms: number | null }> };
      return rows[0].ms ?? undefined;
    },

    /** The earliest bucket (epoch ms) at or after `fromMs` of a level, or undefined. */
    async nextBucket(level: RollupLevel, fromMs: number): Promise<number | undefined> {
      const { rows } = (await q.raw(`SELECT (date_part('epoch', min(bucket)) * 1000)::float8 AS ms FROM ${table(level)} WHERE bucket >= ?::timestamptz`, [iso(fromMs)])) as {
        rows: Array<{ ms: number | null }>;
      };
      return rows[0].ms ?? undefined;
    },

    /** Dirty minutes, oldest first (of one agent in [lo, hi), or any). */
    async dirty(opts: { agentId?: string; fromMs?: number; toMs?: number; limit?: number } = {}): Promise<DirtyMinute[]> {
      let query = q('metric_rollup_dirty').select<Array<{ agent_id: string; minute: Date }>>('agent_id', 'minute');
      if (opts.agentId !== undefined) query = query.where('agent_id', opts.agentId);
      if (opts.fromMs !== undefined) query = query.where('minute', '>=', iso(opts.fromMs));
      if (opts.toMs !== undefined) query = query.where('minute', '<', iso(opts.toMs));
      if (opts.limit !== undefined) query = query.orderBy([{ column: 'agent_id' }, { column: 'minute' }]).limit(opts.limit);
      const rows = await query;
      return rows.map((r) => ({ agent_id: r.agent_id, minute: new Date(r.minute).getTime() }));
    },

    async clearDirty(agentId: string, fromMs: number, toMs: number): Promise<void> {
      await q('metric_rollup_dirty').where('agent_id', agentId).where('minute', '>=', iso(fromMs)).where('minute', '<', iso(toMs)).del();
    },

    /** Deletes at most `batch` buckets older than `before` from one level; answers how many. */
    async pruneBatch(level: RollupLevel, before: Date, batch: number): Promise<number> {
      const res = await q.raw(`DELETE FROM ${table(level)} WHERE ctid IN (SELECT ctid FROM ${table(level)} WHERE bucket < ?::timestamptz LIMIT ?)`, [before.toISOString(), batch]);
      return (res as { rowCount?: number }).rowCount ?? 0;
    },
  };
}

export type MetricRollupsRepo = ReturnType<typeof metricRollupsRepo>;

/** Runs `fn` in one transaction with the repo on it. */
export function inRollupTransaction<T>(knex: Knex, fn: (repo: MetricRollupsRepo) => Promise<T>): Promise<T> {
  return knex.transaction((trx) => fn(metricRollupsRepo(trx)));
}
