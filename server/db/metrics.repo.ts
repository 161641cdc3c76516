// agent_resource_metrics and agent_metrics: batched inserts of samples, bucketed reads (per
// agent and fleet-wide), and age-based pruning in bounded batches.
import type { Knex } from 'knex';
import type { Queryable } from './agents.repo.js';

export interface ResourceSampleRow {
  agent_id: string;
  metric_type: string;
  metric_value: number;
  threshold_value: number | null;
  created_at: Date;
}

/** One (name, bucket) of a gauge: the mean of its samples. */
export interface GaugeBucket {
  name: string;
  b: number;
  v: number;
}

/** One (name, bucket) of a counter: the increase over the bucket and the seconds it covers. */
export interface CounterBucket {
  name: string;
  b: number;
  inc: number | null;
  secs: number | null;
}

export interface FleetGaugeBucket {
  name: string;
  b: number;
  avg: number;
  max: number;
  total: number;
}

export interface FleetCounterBucket {
  name: string;
  b: number;
  /** Sum over agents of each agent's per-second rate in the bucket. */
  rate: number | null;
  inc: number | null;
}

/** What the Prometheus exposition shows per agent. */
export interface AgentExpositionRow {
  id: string;
  name: string;
  type: string;
  version: string;
  process_status: string | null;
  health_status: string | null;
  recovery_status: string | null;
  /** Null when the agent never sent a heartbeat. */
  heartbeat_age_s: number | null;
  /** process_started history rows beyond the first. */
  restarts: number;
  /** The latest resource sample of the process (null when it runs no process or none was taken). */
  cpu_percent: number | null;
  memory_mb: number | null;
}

export interface SeriesRange {
  from: Date;
  to: Date;
  stepMs: number;
}

/** A PostgreSQL text[] literal of names the service has validated (letters, digits, _ and .). */
const textArray = (names: readonly string[]) => `{${names.map((n) => `"${n.replace(/["\\]/g, '')}"`).join(',')}}`;

// date_part answers a double; extract() answers numeric since PostgreSQL 14, which is several
// times slower to compute over hundreds of thousands of rows.
const bucketOf = (column: string) => `floor(date_part('epoch', ${column}) * 1000 / ?::float8)`;

/** Increase between consecutive samples (dv = value - previous); a drop means the counter restarted from zero. */
const INCREASE = 'CASE WHEN dv IS NULL THEN NULL WHEN dv >= 0 THEN dv ELSE value END';

/**
 * One table's counter rows of one agent with the change since the previous sample of the same
 * name (dv) and the seconds between them (dt). The window follows the (agent, name, time) index
 * order, so it needs no sort.
 */
function counterRows(table: 'agent_resource_metrics' | 'agent_metrics') {
  const [name, value, time] = table === 'agent_resource_metrics' ? ['metric_type', 'metric_value', 'created_at'] : ['name', 'value', 'timestamp'];
  return `SELECT ${name} AS name, ${value} AS value, ${bucketOf(time)} AS b,
                 ${value} - lag(${value}) OVER w AS dv, date_part('epoch', ${time} - lag(${time}) OVER w) AS dt
          FROM ${table}
          WHERE agent_id = ? AND ${time} >= ?::timestamptz AND ${time} < ?::timestamptz AND ${name} = ANY(?::text[])
          WINDOW w AS (PARTITION BY ${name} ORDER BY ${time})`;
}

export function metricsRepo(q: Queryable) {
  const raw = <T>(sql: string, bindings: Knex.RawBinding[]) => q.raw(sql, bindings).then((r: { rows: T[] }) => r.rows);

  /** Both tables as (name, value, ts) for one agent and range; `names` selects, `except` excludes. */
  function agentRows(agentId: string, r: SeriesRange, filter: { names?: readonly string[]; except?: readonly string[] }) {
    const cond = (col: string) =>
      filter.names ? ` AND ${col} = ANY(?::text[])` : filter.except && filter.except.length > 0 ? ` AND NOT (${col} = ANY(?::text[]))` : '';
    const list = filter.names ? [textArray(filter.names)] : filter.except && filter.except.length > 0 ? [textArray(filter.except)] : [];
    const sql = `
      SELECT metric_type AS name, metric_value AS value, created_at AS ts FROM agent_resource_metrics
       WHERE agent_id = ? AND created_at >= ?::timestamptz AND created_at < ?::timestamptz${cond('metric_type')}
      UNION ALL
      SELECT name, value, timestamp AS ts FROM agent_metrics
       WHERE agent_id = ? AND timestamp >= ?::timestamptz AND timestamp < ?::timestamptz${cond('name')}`;
    const range = [r.from.toISOString(), r.to.toISOString()];
    return { sql, bindings: [agentId, ...range, ...list, agentId, ...range, ...list] as Knex.RawBinding[] };
  }

  return {
    /** One multi-row INSERT; rows of agents deleted meanwhile are skipped by the join. */
    async insertResourceSamples(rows: ResourceSampleRow[]): Promise<number> {
      if (rows.length === 0) return 0;
      const values = rows.map(() => '(?, ?, ?::float8, ?::float8, ?::timestamptz)').join(', ');
      const bindings = rows.flatMap((r) => [r.agent_id, r.metric_type, r.metric_value, r.threshold_value, r.created_at.toISOString()]);
      const res = await q.raw(
        `INSERT INTO agent_resource_metrics (agent_id, metric_type, metric_value, threshold_value, created_at)
         SELECT v.agent_id, v.metric_type, v.metric_value, v.threshold_value, v.created_at
         FROM (VALUES ${values}) AS v(agent_id, metric_type, metric_value, threshold_value, created_at)
         JOIN agents a ON a.id = v.agent_id`,
        bindings,
      );
      return (res as { rowCount?: number }).rowCount ?? 0;
    },

    /** Mean per (name, bucket) of every gauge of one agent: `names`, or all but `except`. */
    agentGauges(agentId: string, r: SeriesRange, filter: { names?: readonly string[]; except?: readonly string[] }): Promise<GaugeBucket[]> {
      const rows = agentRows(agentId, r, filter);
      return raw<GaugeBucket>(`SELECT name, ${bucketOf('ts')} AS b, avg(value)::float8 AS v FROM (${rows.sql}) x GROUP BY 1, 2`, [r.stepMs, ...rows.bindings]);
    },

    /** Increase and covered seconds per (name, bucket) of counters of one agent. */
    agentCounters(agentId: string, r: SeriesRange, names: readonly string[]): Promise<CounterBucket[]> {
      if (names.length === 0) return Promise.resolve([]);
      const each = [r.stepMs, agentId, r.from.toISOString(), r.to.toISOString(), textArray(names)];
      return raw<CounterBucket>(
        `SELECT name, b, sum(${INCREASE})::float8 AS inc, sum(dt)::float8 AS secs
         FROM (${counterRows('agent_resource_metrics')} UNION ALL ${counterRows('agent_metrics')}) y
         GROUP BY 1, 2`,
        [...each, ...each],
      );
    },

    /** Per (name, bucket) over agents of each agent's bucket mean: mean, max of samples, sum. */
    fleetGauges(r: SeriesRange, names: readonly string[]): Promise<FleetGaugeBucket[]> {
      if (names.length === 0) return Promise.resolve([]);
      return raw<FleetGaugeBucket>(
        `SELECT name, b, avg(a)::float8 AS avg, max(mx)::float8 AS max, sum(a)::float8 AS total FROM (
           SELECT agent_id, metric_type AS name, ${bucketOf('created_at')} AS b, avg(metric_value) AS a, max(metric_value) AS mx
           FROM agent_resource_metrics
           WHERE created_at >= ?::timestamptz AND created_at < ?::timestamptz AND metric_type = ANY(?::text[])
           GROUP BY 1, 2, 3) x
         GROUP BY 1, 2`,
        [r.stepMs, r.from.toISOString(), r.to.toISOString(), textArray(names)],
      );
    },

    /** Per (name, bucket): the sum over agents of their per-second rates, and the total increase. */
    fleetCounters(r: SeriesRange, names: readonly string[]): Promise<FleetCounterBucket[]> {
      if (names.length === 0) return Promise.resolve([]);
      return raw<FleetCounterBucket>(
        `SELECT name, b, sum(CASE WHEN secs > 0 THEN inc / secs END)::float8 AS rate, sum(inc)::float8 AS inc FROM (
           SELECT agent_id, name, b, sum(${INCREASE}) AS inc, sum(dt) AS secs
           FROM (SELECT agent_id, name, value, ${bucketOf('timestamp')} AS b,
                        value - lag(value) OVER w AS dv, date_part('epoch', timestamp - lag(timestamp) OVER w) AS dt
                 FROM agent_metrics
                 WHERE timestamp >= ?::timestamptz AND timestamp < ?::timestamptz AND name = ANY(?::text[])
                 WINDOW w AS (PARTITION BY agent_id, name ORDER BY timestamp)) y
           GROUP BY 1, 2, 3) x
         GROUP BY 1, 2`,
        [r.stepMs, r.from.toISOString(), r.to.toISOString(), textArray(names)],
      );
    },

    /** Agents with any sample or report per bucket (each table reduced to distinct pairs first). */
    fleetReporting(r: SeriesRange): Promise<Array<{ b: number; n: number }>> {
      const range = [r.from.toISOString(), r.to.toISOString()];
      return raw(
        `SELECT b, count(DISTINCT agent_id)::int AS n FROM (
           (SELECT DISTINCT agent_id, ${bucketOf('created_at')} AS b FROM agent_resource_metrics WHERE created_at >= ?::timestamptz AND created_at < ?::timestamptz)
           UNION ALL
           (SELECT DISTINCT agent_id, ${bucketOf('timestamp')} AS b FROM agent_metrics WHERE timestamp >= ?::timestamptz AND timestamp < ?::timestamptz)) x
         GROUP BY 1`,
        [r.stepMs, ...range, r.stepMs, ...range],
      );
    },

    /** Every agent's state, heartbeat age and restart count (the partial index counts the starts). */
    agentExposition(): Promise<AgentExpositionRow[]> {
      return raw<AgentExpositionRow>(
        `SELECT a.id, a.name, a.type, a.version, s.process_status, s.health_status, s.recovery_status,
                extract(epoch from (now() - s.last_heartbeat))::float8 AS heartbeat_age_s,
                GREATEST(COALESCE(h.started, 0) - 1, 0)::int AS restarts,
                CASE WHEN s.pid IS NULL THEN NULL ELSE (s.latest_metrics->>'cpu_percent')::float8 END AS cpu_percent,
                CASE WHEN s.pid IS NULL THEN NULL ELSE (s.latest_metrics->>'memory_mb')::float8 END AS memory_mb
         FROM agents a
         LEFT JOIN agent_status s ON s.agent_id = a.id
         LEFT JOIN (SELECT agent_id, count(*) AS started FROM agent_status_history WHERE event_type = 'process_started' GROUP BY agent_id) h
           ON h.agent_id = a.id
         ORDER BY a.id`,
        [],
      );
    },

    /**
     * Deletes at most `batch` rows older than `before` from one table; answers how many. The
     * time index finds them, and the bounded size keeps each statement (and its locks) short.
     */
    async pruneBatch(table: 'agent_resource_metrics' | 'agent_metrics', before: Date, batch: number): Promise<number> {
      const column = table === 'agent_resource_metrics' ? 'created_at' : 'timestamp';
      const res = await q.raw(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < ?::timestamptz LIMIT ?)`, [before.toISOString(), batch]);
      return (res as { rowCount?: number }).rowCount ?? 0;
    },
  };
}
