// agent_resource_metrics and agent_metrics: batched inserts of samples, bucketed reads (per
// agent and fleet-wide) over segments read raw or from the rollup tables, and age-based
// pruning in bounded batches.
import type { Knex } from 'knex';
import type { Queryable } from './agents.repo.js';
import type { RollupLevel, Segment } from '../domain/metric-rollups.js';

export interface ResourceSampleRow {
  agent_id: string;
  metric_type: string;
  metric_value: number;
  threshold_value: number | null;
  created_at: Date;
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
  /**
   * Where each part of [from, to) is read from (rollups, raw samples); absent: all raw. The
   * service plans them (domain/metric-rollups.ts).
   */
  segments?: Segment[];
}

/** A PostgreSQL text[] literal of names the service has validated (letters, digits, _ and .). */
const textArray = (names: readonly string[]) => `{${names.map((n) => `"${n.replace(/["\\]/g, '')}"`).join(',')}}`;

// date_part answers a double; extract() answers numeric since PostgreSQL 14, which is several
// times slower to compute over hundreds of thousands of rows.
const bucketOf = (column: string) => `floor(date_part('epoch', ${column}) * 1000 / ?::float8)`;

/** Increase between consecutive samples (dv = value - previous); a drop means the counter restarted from zero. */
const INCREASE = 'CASE WHEN dv IS NULL THEN NULL WHEN dv >= 0 THEN dv ELSE value END';

/**
 * a / b for sums of samples, where a subnormal `a` (|a| < 1e-300, which an agent may report)
 * counts as 0: PostgreSQL refuses a division whose result underflows.
 */
const quotient = (a: string, b: string) => `CASE WHEN abs(${a}) < 1e-300 THEN 0::float8 ELSE ${a} / ${b} END`;

/** SQL with its bindings, to be put together in order. */
interface Part {
  sql: string;
  bindings: Knex.RawBinding[];
}

const join = (parts: Part[], glue: string): Part => ({ sql: parts.map((p) => p.sql).join(glue), bindings: parts.flatMap((p) => p.bindings) });
const iso = (ms: number) => new Date(ms).toISOString();
const rollupTable = (level: RollupLevel) => `metric_rollups_${level}`;

type NameFilter = { names?: readonly string[]; except?: readonly string[] };

function nameCondition(column: string, filter: NameFilter): Part {
  if (filter.names) return { sql: ` AND ${column} = ANY(?::text[])`, bindings: [textArray(filter.names)] };
  if (filter.except && filter.except.length > 0) return { sql: ` AND NOT (${column} = ANY(?::text[]))`, bindings: [textArray(filter.except)] };
  return { sql: '', bindings: [] };
}

/** Raw samples of both tables as (agent_id, name, value, ts) in [from, to): one agent, or every agent. */
function rawRows(agentId: string | undefined, fromMs: number, toMs: number, filter: NameFilter): Part {
  const one = (table: string, name: string, value: string, time: string): Part => {
    const cond = nameCondition(name, filter);
    return {
      sql: `SELECT agent_id, ${name} AS name, ${value} AS value, ${time} AS ts FROM ${table}
             WHERE ${agentId === undefined ? '' : 'agent_id = ? AND '}${time} >= ?::timestamptz AND ${time} < ?::timestamptz${cond.sql}`,
      bindings: [...(agentId === undefined ? [] : [agentId]), iso(fromMs), iso(toMs), ...cond.bindings],
    };
  };
  return join([one('agent_resource_metrics', 'metric_type', 'metric_value', 'created_at'), one('agent_metrics', 'name', 'value', 'timestamp')], ' UNION ALL ');
}

/**
 * The sample just before `beforeMs` of each (agent, name) in `pairs` (a SELECT of agent_id, name),
 * from both tables (ties broken by value, as the window orders them): the predecessor whose
 * increase the first sample of a segment continues. The name is matched as a range of one and the
 * rows ordered by it, so that only the (agent, name, time) index gives the order: with an equality
 * the planner may take the (agent, time) index instead, which reads every earlier row of the
 * agent when the name is in the other table (half a second for a week of one agent's samples).
 */
function lookback(pairs: Part, beforeMs: number): Part {
  const before = iso(beforeMs);
  return { sql: `SELECT p.agent_id, p.name, x.value, x.ts FROM (${pairs.sql}) p ${PREDECESSOR}`, bindings: [...pairs.bindings, before, before] };
}

/**
 * `CROSS JOIN LATERAL ... x`: for each row p (agent_id, name), its sample (x.value, x.ts) just
 * before a time given twice as bindings. The rollup job looks predecessors up the same way.
 */
export const PREDECESSOR = `CROSS JOIN LATERAL (
    SELECT value, ts FROM (
      (SELECT metric_value AS value, created_at AS ts FROM agent_resource_metrics r
        WHERE r.agent_id = p.agent_id AND r.metric_type >= p.name AND r.metric_type <= p.name AND r.created_at < ?::timestamptz ORDER BY r.metric_type DESC, r.created_at DESC, r.metric_value DESC LIMIT 1)
      UNION ALL
      (SELECT m.value, m.timestamp FROM agent_metrics m
        WHERE m.agent_id = p.agent_id AND m.name >= p.name AND m.name <= p.name AND m.timestamp < ?::timestamptz ORDER BY m.name DESC, m.timestamp DESC, m.value DESC LIMIT 1)) y
    ORDER BY ts DESC, value DESC LIMIT 1) x`;

/**
 * Each raw sample of [from, to) with its increase (`inc`) and the seconds since its predecessor
 * (`secs`); the first sample of each series takes its predecessor from before the segment.
 * `pairs` names the series to look back for.
 */
function rawIncreases(rows: Part, pairs: Part, fromMs: number, stepMs: number, oneAgent: boolean): Part {
  const back = lookback(pairs, fromMs);
  // One agent's rows partition by name alone, compared bytewise: the sort before the window was
  // most of the query's time, and a quarter of it went to the agent id.
  const partition = oneAgent ? 'name COLLATE "C"' : 'agent_id, name';
  return {
    sql: `SELECT agent_id, name, ${bucketOf('ts')} AS b, ${INCREASE} AS inc, dt AS secs FROM (
            SELECT agent_id, name, value, ts, own, value - lag(value) OVER w AS dv, date_part('epoch', ts - lag(ts) OVER w) AS dt
            FROM (SELECT agent_id, name, value, ts, true AS own FROM (${rows.sql}) r
                  UNION ALL SELECT agent_id, name, value, ts, false FROM (${back.sql}) l) z
            WINDOW w AS (PARTITION BY ${partition} ORDER BY ts, value)) y
          WHERE own`,
    bindings: [stepMs, ...rows.bindings, ...back.bindings],
  };
}

/** Rows of one rollup table in [from, to): one agent or every agent, names filtered. */
function rollupRows(level: RollupLevel, agentId: string | undefined, fromMs: number, toMs: number, filter: NameFilter, columns: string, stepMs: number): Part {
  const cond = nameCondition('name', filter);
  return {
    sql: `SELECT agent_id, name, ${bucketOf('bucket')} AS b, ${columns} FROM ${rollupTable(level)}
          WHERE ${agentId === undefined ? '' : 'agent_id = ? AND '}bucket >= ?::timestamptz AND bucket < ?::timestamptz${cond.sql}`,
    bindings: [stepMs, ...(agentId === undefined ? [] : [agentId]), iso(fromMs), iso(toMs), ...cond.bindings],
  };
}

const segmentsOf = (r: SeriesRange): Segment[] => r.segments ?? [{ source: 'raw', fromMs: r.from.getTime(), toMs: r.to.getTime() }];

/** What a series read takes: gauges (names, all but some, or all) as sums and counts, and counters as increases. */
export interface SeriesNeeds {
  gauges: NameFilter;
  counters: readonly string[];
}

const wantsNoGauge = (f: NameFilter) => f.names !== undefined && f.names.length === 0;

/**
 * The samples of every segment as pieces (agent_id, name, b, s, n, mx, inc, secs): a rollup
 * bucket gives its sum, count, max, increase and seconds in one row; a raw sample of a gauge its
 * value (s, n = 1, mx), a raw sample of a counter its increase over its predecessor (looked up
 * before the segment for the first) and the seconds between them.
 */
function pieces(agentId: string | undefined, r: SeriesRange, needs: SeriesNeeds): Part {
  const rollupFilter: NameFilter =
    needs.gauges.names !== undefined ? { names: [...new Set([...needs.gauges.names, ...needs.counters])] } : {};
  const parts: Part[] = [];
  for (const seg of segmentsOf(r)) {
    if (seg.source !== 'raw') {
      if (rollupFilter.names?.length === 0) continue;
      parts.push(rollupRows(seg.source, agentId, seg.fromMs, seg.toMs, rollupFilter, 'sum AS s, count AS n, max AS mx, inc, secs', r.stepMs));
      continue;
    }
    if (!wantsNoGauge(needs.gauges)) {
      const rows = rawRows(agentId, seg.fromMs, seg.toMs, needs.gauges);
      parts.push({
        sql: `SELECT agent_id, name, ${bucketOf('ts')} AS b, value AS s, 1 AS n, value AS mx, NULL::float8 AS inc, NULL::float8 AS secs FROM (${rows.sql}) r`,
        bindings: [r.stepMs, ...rows.bindings],
      });
    }
    if (needs.counters.length > 0) {
      const rows = rawRows(agentId, seg.fromMs, seg.toMs, { names: needs.counters });
      // One agent: look back for every name asked; the fleet: for each (agent, name) seen in the segment.
      const pairs: Part =
        agentId !== undefined
          ? { sql: 'SELECT ?::text AS agent_id, unnest(?::text[]) AS name', bindings: [agentId, textArray(needs.counters)] }
          : { sql: `SELECT DISTINCT agent_id, name FROM (${rows.sql}) q`, bindings: rows.bindings };
      const inc = rawIncreases(rows, pairs, seg.fromMs, r.stepMs, agentId !== undefined);
      parts.push({ sql: `SELECT agent_id, name, b, NULL::float8 AS s, NULL::int AS n, NULL::float8 AS mx, inc, secs FROM (${inc.sql}) c`, bindings: inc.bindings });
    }
  }
  return parts.length > 0 ? join(parts, ' UNION ALL ') : { sql: 'SELECT NULL::text AS agent_id, NULL::text AS name, NULL::float8 AS b, NULL::float8 AS s, NULL::int AS n, NULL::float8 AS mx, NULL::float8 AS inc, NULL::float8 AS secs WHERE false', bindings: [] };
}

/** One (name, bucket) of one agent: the mean of its samples, and its increase with the seconds it covers. */
export interface SeriesBucket {
  name: string;
  b: number;
  v: number | null;
  inc: number | null;
  secs: number | null;
}

/**
 * One (name, bucket) over the fleet: of the agents' bucket means their mean, max of samples and
 * sum; the sum of the agents' per-second rates and the total increase. `name` null: a row of
 * `agents` (agents with any sample in the bucket).
 */
export interface FleetBucket {
  name: string | null;
  b: number;
  avg: number | null;
  max: number | null;
  total: number | null;
  rate: number | null;
  inc: number | null;
  agents: number | null;
}

/** An agent as the series query needs it: whether it exists, its declared kinds, its dirty minutes. */
export interface SeriesContext {
  exists: boolean;
  declared: Array<{ name: string; kind: 'counter' | 'gauge'; unit: string | null }>;
  /** Epoch ms. */
  dirty: number[];
}

export function metricsRepo(q: Queryable) {
  const raw = <T>(part: Part) => q.raw(part.sql, part.bindings).then((r: { rows: T[] }) => r.rows);

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

    /**
     * In one round trip: whether the agent exists, its declared metric kinds, and its minutes
     * marked dirty in [fromMs, toMs) (none read when `dirty` is false).
     */
    async seriesContext(agentId: string, dirty: { fromMs: number; toMs: number } | false): Promise<SeriesContext> {
      const rows = await raw<{ t: string; name: string | null; kind: 'counter' | 'gauge' | null; unit: string | null; minute: number | null }>({
        sql: `SELECT 'a' AS t, k.name, k.kind, k.unit, NULL::float8 AS minute
                FROM agents a LEFT JOIN agent_metric_kinds k ON k.agent_id = a.id WHERE a.id = ?
              ${dirty ? `UNION ALL SELECT 'd', NULL, NULL, NULL, (date_part('epoch', minute) * 1000)::float8 FROM metric_rollup_dirty WHERE agent_id = ? AND minute >= ?::timestamptz AND minute < ?::timestamptz` : ''}`,
        bindings: [agentId, ...(dirty ? [agentId, iso(dirty.fromMs), iso(dirty.toMs)] : [])],
      });
      const own = rows.filter((r) => r.t === 'a');
      return {
        exists: own.length > 0,
        declared: own.filter((r) => r.name !== null).map((r) => ({ name: r.name!, kind: r.kind!, unit: r.unit })),
        dirty: rows.filter((r) => r.t === 'd').map((r) => r.minute!),
      };
    },

    /** Per (name, bucket) of one agent: the mean of the samples (gauges) and the increase with its seconds (counters). */
    agentSeries(agentId: string, r: SeriesRange, needs: SeriesNeeds): Promise<SeriesBucket[]> {
      const p = pieces(agentId, r, needs);
      return raw<SeriesBucket>({
        sql: `SELECT name, b, (${quotient('sum(s)', 'sum(n)')})::float8 AS v, sum(inc)::float8 AS inc, sum(secs)::float8 AS secs FROM (${p.sql}) x GROUP BY 1, 2`,
        bindings: p.bindings,
      });
    },

    /**
     * Per (name, bucket) over agents: of each agent's bucket mean the mean, the max of samples
     * and the sum; of each agent's per-second rate the sum; and with `reporting`, per bucket the
     * agents with any sample (rows with a null name).
     */
    fleetSeries(r: SeriesRange, needs: { gauges: readonly string[]; counters: readonly string[]; reporting: boolean }): Promise<FleetBucket[]> {
      const names = [...new Set([...needs.gauges, ...needs.counters])];
      if (names.length === 0 && !needs.reporting) return Promise.resolve([]);
      const p = pieces(undefined, r, { gauges: needs.reporting ? {} : { names: needs.gauges }, counters: needs.counters });
      return raw<FleetBucket>({
        sql: `WITH a AS (
                SELECT agent_id, name, b, ${quotient('sum(s)', 'sum(n)')} AS mean, max(mx) AS mx, sum(inc) AS inc, sum(secs) AS secs FROM (${p.sql}) x GROUP BY 1, 2, 3)
              SELECT name, b, avg(mean)::float8 AS avg, max(mx)::float8 AS max, sum(mean)::float8 AS total,
                     sum(CASE WHEN secs > 0 THEN ${quotient('inc', 'secs')} END)::float8 AS rate, sum(inc)::float8 AS inc, NULL::int AS agents
              FROM a WHERE name = ANY(?::text[]) GROUP BY 1, 2
              ${needs.reporting ? 'UNION ALL SELECT NULL, b, NULL, NULL, NULL, NULL, NULL, count(DISTINCT agent_id)::int FROM a GROUP BY 2' : ''}`,
        bindings: [...p.bindings, textArray(names)],
      });
    },

    /** Every agent's state, heartbeat age and restart count (the partial index counts the starts). */
    agentExposition(): Promise<AgentExpositionRow[]> {
      return raw<AgentExpositionRow>({
        sql: `SELECT a.id, a.name, a.type, a.version, s.process_status, s.health_status, s.recovery_status,
                extract(epoch from (now() - s.last_heartbeat))::float8 AS heartbeat_age_s,
                GREATEST(COALESCE(h.started, 0) - 1, 0)::int AS restarts,
                CASE WHEN s.pid IS NULL THEN NULL ELSE (s.latest_metrics->>'cpu_percent')::float8 END AS cpu_percent,
                CASE WHEN s.pid IS NULL THEN NULL ELSE (s.latest_metrics->>'memory_mb')::float8 END AS memory_mb
         FROM agents a
         LEFT JOIN agent_status s ON s.agent_id = a.id
         LEFT JOIN (SELECT agent_id, count(*) AS started FROM agent_status_history WHERE event_type = 'process_started' GROUP BY agent_id) h
           ON h.agent_id = a.id
         ORDER BY a.id`,
        bindings: [],
      });
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
