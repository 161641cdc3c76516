// Metric queries: one agent's series and the fleet's, bucketed server-side into columnar
// arrays for uPlot (`{t: [...], <name>: [...]}`), within the bounds of domain/metric-series.
import type { Database } from '../db/database.js';
import { metricRollupsRepo } from '../db/metric-rollups.repo.js';
import { dirtyStretches, type LevelState, levelsForStep, planSegments, ROLLUP_LEVELS } from '../domain/metric-rollups.js';
import { type FleetBucket, metricsRepo, type SeriesBucket, type SeriesRange } from '../db/metrics.repo.js';
import { AgentNotFound, type FieldIssue, ValidationFailed } from '../errors.js';
import {
  COUNTER_METRICS,
  type DeclaredKinds,
  DERIVED_FROM,
  FLEET_META,
  FLEET_METRICS,
  type FleetMetric,
  isCounter,
  parseNames,
  type RawWindowQuery,
  RESERVED_NAMES,
  resolveWindow,
  type SeriesMeta,
  seriesMeta,
  type SeriesWindow,
} from '../domain/metric-series.js';
import { dictionary, ownValue } from '../domain/own.js';

export interface SeriesQuery extends RawWindowQuery {
  /** `names=a,b` and/or repeated `names=`. */
  names?: string[];
}

/**
 * Columnar answer: `t` (bucket start, epoch ms) and one array per name, null where a bucket has
 * no data; `meta` gives each answered series' kind and unit.
 */
export interface SeriesAnswer {
  from: string;
  to: string;
  /** Seconds. */
  step: number;
  t: number[];
  meta: Record<string, SeriesMeta>;
  [name: string]: number[] | (number | null)[] | string | number | Record<string, SeriesMeta>;
}

export type MetricsService = ReturnType<typeof createMetricsService>;

/** How long the rollup watermarks read from the database are reused (an older one only makes the raw tail longer). */
const STATE_TTL_MS = 2000;

export interface MetricsServiceDeps {
  db: Database;
  now?: () => number;
  /** Read the rollups where they cover the range (default); false reads every sample raw (tests, benchmarks). */
  rollups?: boolean;
}

export function createMetricsService({ db, now = () => Date.now(), rollups = true }: MetricsServiceDeps) {
  const repo = metricsRepo(db.knex);
  const rollupsRepo = metricRollupsRepo(db.knex);
  let state: { at: number; levels: LevelState[] } | undefined;

  async function levelStates(): Promise<LevelState[]> {
    if (state && now() - state.at < STATE_TTL_MS) return state.levels;
    const read = await rollupsRepo.state();
    state = { at: now(), levels: ROLLUP_LEVELS.map(({ level }) => ({ level, rolledUntilMs: read.get(level) ?? null })) };
    return state.levels;
  }

  /** The rollup levels that can answer this step (none when rollups are off). */
  async function levelsFor(w: SeriesWindow): Promise<LevelState[]> {
    return rollups ? levelsForStep(w.stepMs, await levelStates()) : [];
  }

  /**
   * The range and where each part of it is read from: the coarsest rollup whose buckets fit the
   * step, finer ones and raw samples around it, raw in the dirty minutes (of this agent, or of any
   * for the fleet).
   */
  function planned(w: SeriesWindow, levels: LevelState[], dirtyMinutes: number[]): SeriesRange {
    const range = rangeOf(w);
    return levels.length === 0 ? range : { ...range, segments: planSegments(w.fromMs, w.toMs, levels, dirtyStretches(dirtyMinutes)) };
  }

  /** Dirty minutes are read from the minute holding `from` on. */
  const dirtySpan = (w: SeriesWindow) => ({ fromMs: Math.floor(w.fromMs / 60_000) * 60_000, toMs: w.toMs });

  function window(query: SeriesQuery, allowed?: readonly string[]): { w: SeriesWindow; names?: string[] } {
    const issues: FieldIssue[] = [];
    const { window: w, issues: windowIssues } = resolveWindow(query, now());
    const { names, issues: nameIssues } = parseNames(query.names, allowed);
    issues.push(...windowIssues, ...nameIssues);
    if (issues.length > 0 || !w) throw new ValidationFailed(issues);
    return { w, names };
  }

  const rangeOf = (w: SeriesWindow): SeriesRange => ({ from: new Date(w.fromMs), to: new Date(w.toMs), stepMs: w.stepMs });

  /** The answer's fixed keys, in an object without a prototype: series are keyed by names agents chose (`constructor`, `__proto__`). */
  function frame(w: SeriesWindow): SeriesAnswer {
    return Object.assign(dictionary<SeriesAnswer[string]>(), {
      from: new Date(w.fromMs).toISOString(),
      to: new Date(w.toMs).toISOString(),
      step: w.stepMs / 1000,
      t: w.t,
      meta: dictionary<SeriesMeta>(),
    }) as SeriesAnswer;
  }

  /** `meta` for every series of the answer. */
  function annotate(answer: SeriesAnswer, metaOf: (name: string) => SeriesMeta): void {
    for (const name of Object.keys(answer)) if (!RESERVED_NAMES.has(name)) answer.meta[name] = metaOf(name);
  }

  /** Places (bucket, value) pairs into an array aligned with `w.t`. */
  function column(w: SeriesWindow, points: Iterable<[number, number | null]>, fill: number | null = null): (number | null)[] {
    const out: (number | null)[] = new Array(w.t.length).fill(fill);
    const first = Math.round(w.t[0] / w.stepMs);
    for (const [b, v] of points) {
      const i = Math.round(b) - first;
      if (i >= 0 && i < out.length && v !== null && Number.isFinite(v)) out[i] = v;
    }
    return out;
  }

  const byName = <R extends { name: string }>(rows: R[]) => {
    const m = new Map<string, R[]>();
    for (const r of rows) (m.get(r.name) ?? m.set(r.name, []).get(r.name)!).push(r);
    return m;
  };

  /**
   * Per-bucket ratio of two counters' increases, null where the denominator did not move. A
   * bucket without a numerator row counts as `missing` (0 failures; unknown processing time).
   */
  function ratio(w: SeriesWindow, num: SeriesBucket[] = [], den: SeriesBucket[] = [], missing: number | null): (number | null)[] {
    const n = new Map(num.map((r) => [Math.round(r.b), r.inc]));
    return column(
      w,
      den.map((r) => {
        const top = n.get(Math.round(r.b)) ?? missing;
        return [r.b, r.inc !== null && r.inc > 0 && top !== null ? top / r.inc : null] as [number, number | null];
      }),
    );
  }

  return {
    /**
     * One agent's series. Gauges are the mean per bucket; counters are a per-second rate over
     * the bucket; error_rate and processing_ms are per processed event (see DERIVED_FROM).
     * Without `names`: every series that has data in the range.
     */
    async agentSeries(agentId: string, query: SeriesQuery): Promise<SeriesAnswer & { agent_id: string }> {
      const { w, names } = window(query);
      const levels = await levelsFor(w);
      const context = await repo.seriesContext(agentId, levels.length > 0 && dirtySpan(w));
      if (!context.exists) throw new AgentNotFound(agentId);
      const declared: DeclaredKinds = new Map(context.declared.map((d) => [d.name, { kind: d.kind, unit: d.unit }]));
      const derived = Object.keys(DERIVED_FROM);
      const counter = (n: string) => isCounter(n, declared);
      const declaredCounters = [...declared.keys()].filter((n) => counter(n) && !COUNTER_METRICS.has(n));
      const counterNames = names
        ? [...new Set([...names.filter((n) => counter(n) && !derived.includes(n)), ...names.flatMap((n) => ownValue(DERIVED_FROM, n) ?? [])])]
        : [...COUNTER_METRICS, ...declaredCounters];
      const gaugeFilter = names
        ? { names: names.filter((n) => !counter(n) && !derived.includes(n)) }
        : { except: [...COUNTER_METRICS, ...declaredCounters, ...derived] };
      const isGauge = (n: string) => (gaugeFilter.names ? gaugeFilter.names.includes(n) : !gaugeFilter.except.includes(n));
      const rows = await repo.agentSeries(agentId, planned(w, levels, context.dirty), { gauges: gaugeFilter, counters: counterNames });
      const answer = Object.assign(frame(w), { agent_id: agentId });
      const series = byName(rows);
      const c = new Map<string, SeriesBucket[]>();
      for (const [name, list] of series) {
        if (RESERVED_NAMES.has(name)) continue;
        if (isGauge(name)) {
          const points = list.filter((r) => r.v !== null);
          if (points.length > 0) answer[name] = column(w, points.map((r) => [r.b, r.v]));
        } else if (counterNames.includes(name)) {
          c.set(name, list);
        }
      }
      for (const [name, list] of c) {
        if (derived.includes(name)) continue;
        if (names && !names.includes(name)) continue;
        answer[name] = column(w, list.map((r) => [r.b, r.inc !== null && r.secs ? r.inc / r.secs : null]));
      }
      for (const [name, [num, den]] of Object.entries(DERIVED_FROM)) {
        if (names ? names.includes(name) : c.has(den)) answer[name] = ratio(w, c.get(num), c.get(den), name === 'error_rate' ? 0 : null);
      }
      for (const name of names ?? []) answer[name] ??= column(w, []);
      annotate(answer, (name) => seriesMeta(name, declared));
      return answer;
    },

    /**
     * Fleet-wide series: cpu_percent_avg (mean of the agents' bucket means), cpu_percent_max
     * (highest sample), memory_mb_total (sum of the agents' bucket means), memory_mb_max,
     * events_processed_rate and events_failed_rate (sum of per-agent rates, per second),
     * error_rate (failed / processed events) and agents_reporting (agents with any data).
     */
    async fleetSeries(query: SeriesQuery): Promise<SeriesAnswer> {
      const { w, names } = window(query, FLEET_METRICS);
      const want = new Set<FleetMetric>((names as FleetMetric[] | undefined) ?? FLEET_METRICS);
      const levels = await levelsFor(w);
      const range = planned(w, levels, levels.length > 0 ? (await rollupsRepo.dirty(dirtySpan(w))).map((d) => d.minute) : []);
      const gaugeNames = [
        ...(want.has('cpu_percent_avg') || want.has('cpu_percent_max') ? ['cpu_percent'] : []),
        ...(want.has('memory_mb_total') || want.has('memory_mb_max') ? ['memory_mb'] : []),
      ];
      const counterNames = [
        ...(want.has('events_processed_rate') || want.has('error_rate') ? ['events_processed'] : []),
        ...(want.has('events_failed_rate') || want.has('error_rate') ? ['events_failed'] : []),
      ];
      const rows = await repo.fleetSeries(range, { gauges: gaugeNames, counters: counterNames, reporting: want.has('agents_reporting') });
      const reporting = rows.filter((r) => r.name === null);
      const g = byName(rows.filter((r): r is FleetBucket & { name: string } => r.name !== null && gaugeNames.includes(r.name) && r.avg !== null));
      const c = byName(rows.filter((r): r is FleetBucket & { name: string } => r.name !== null && counterNames.includes(r.name) && r.inc !== null));
      const answer = frame(w);
      const gauge = (name: string, pick: (r: FleetBucket) => number | null) => column(w, (g.get(name) ?? []).map((r) => [r.b, pick(r)]));
      const columns: Record<FleetMetric, () => (number | null)[]> = {
        cpu_percent_avg: () => gauge('cpu_percent', (r) => r.avg),
        cpu_percent_max: () => gauge('cpu_percent', (r) => r.max),
        memory_mb_total: () => gauge('memory_mb', (r) => r.total),
        memory_mb_max: () => gauge('memory_mb', (r) => r.max),
        events_processed_rate: () => column(w, (c.get('events_processed') ?? []).map((r) => [r.b, r.rate])),
        events_failed_rate: () => column(w, (c.get('events_failed') ?? []).map((r) => [r.b, r.rate])),
        error_rate: () => {
          const num = c.get('events_failed') ?? [];
          const den = c.get('events_processed') ?? [];
          // Buckets where events were processed but none failed have no failed row: their rate is 0.
          const failed = new Map(num.map((r) => [Math.round(r.b), r.inc ?? 0]));
          return column(w, den.map((r) => [r.b, r.inc && r.inc > 0 ? (failed.get(Math.round(r.b)) ?? 0) / r.inc : null]));
        },
        agents_reporting: () => column(w, reporting.map((r) => [r.b, r.agents]), 0),
      };
      for (const name of FLEET_METRICS) if (want.has(name)) answer[name] = columns[name]();
      annotate(answer, (name) => FLEET_META[name as FleetMetric]);
      return answer;
    },
  };
}
