// Time-series rules for the metrics API, as pure functions: which names are counters, how a
// time range and step become aligned buckets, the automatic step, and the bounds a query must
// respect. The service applies them; the repo only runs the bucketed SQL.
import type { FieldIssue } from '../errors.js';

/** Resource samples taken by the sampler (agent_resource_metrics.metric_type). */
export const RESOURCE_METRICS = ['cpu_percent', 'memory_mb', 'disk_read_bytes', 'disk_write_bytes', 'net_rx_bytes', 'net_tx_bytes'] as const;

/** What agents report themselves (agent_metrics.name), plus what the supervisor measures there. */
export const AGENT_METRICS = ['events_processed', 'events_failed', 'processing_ms', 'response_ms', 'heartbeat_latency_ms'] as const;

/**
 * Cumulative counters (never decreasing while a process lives; a drop means the process
 * restarted). Bucketed as a per-second rate, except processing_ms (see DERIVED_FROM).
 */
export const COUNTER_METRICS: ReadonlySet<string> = new Set([
  'events_processed',
  'events_failed',
  'processing_ms',
  'disk_read_bytes',
  'disk_write_bytes',
  'net_rx_bytes',
  'net_tx_bytes',
]);

/**
 * Series computed from counters inside each bucket: error_rate = failed / processed events,
 * processing_ms = processing time per processed event (ms). Both are null where no event was
 * processed in the bucket.
 */
export const DERIVED_FROM: Readonly<Record<string, readonly string[]>> = {
  error_rate: ['events_failed', 'events_processed'],
  processing_ms: ['processing_ms', 'events_processed'],
};

/** Fleet-wide series of GET /api/v1/metrics. */
export const FLEET_METRICS = [
  'cpu_percent_avg',
  'cpu_percent_max',
  'memory_mb_total',
  'memory_mb_max',
  'events_processed_rate',
  'events_failed_rate',
  'error_rate',
  'agents_reporting',
] as const;
export type FleetMetric = (typeof FLEET_METRICS)[number];

export const METRIC_NAME_PATTERN = /^[a-z][a-z0-9_.]{0,99}$/;
/** Keys of the answer itself: a reported metric under one of these names is never answered. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['t', 'from', 'to', 'step', 'agent_id', 'meta']);

/** What an agent may declare a number to be (the metrics message's `meta`). */
export const METRIC_KINDS = ['counter', 'gauge'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** A series' kind and unit as answered in `meta`: a counter's values are per-second rates of `unit`. */
export interface SeriesMeta {
  kind: MetricKind;
  unit: string | null;
}

const gauge = (unit: string | null): SeriesMeta => ({ kind: 'gauge', unit });
const counter = (unit: string): SeriesMeta => ({ kind: 'counter', unit });

/**
 * Series the AMS measures or the protocol names, as answered: their kinds are fixed (a
 * declaration cannot change them). processing_ms and error_rate are answered per processed
 * event (DERIVED_FROM), so they are gauges although processing_ms is stored as a counter.
 */
export const BUILTIN_META: ReadonlyMap<string, SeriesMeta> = new Map([
  ['cpu_percent', gauge('%')],
  ['memory_mb', gauge('MiB')],
  ['disk_read_bytes', counter('bytes')],
  ['disk_write_bytes', counter('bytes')],
  ['net_rx_bytes', counter('bytes')],
  ['net_tx_bytes', counter('bytes')],
  ['response_ms', gauge('ms')],
  ['heartbeat_latency_ms', gauge('ms')],
  ['events_processed', counter('events')],
  ['events_failed', counter('events')],
  ['processing_ms', gauge('ms')],
  ['error_rate', gauge('ratio')],
]);

/** The fleet-wide series' meta: the *_rate series are sums of per-second rates. */
export const FLEET_META: Readonly<Record<FleetMetric, SeriesMeta>> = {
  cpu_percent_avg: gauge('%'),
  cpu_percent_max: gauge('%'),
  memory_mb_total: gauge('MiB'),
  memory_mb_max: gauge('MiB'),
  events_processed_rate: counter('events'),
  events_failed_rate: counter('events'),
  error_rate: gauge('ratio'),
  agents_reporting: gauge('agents'),
};

/** Declared kinds of one agent's own numbers, by name (a Map: names are looked up as own keys only). */
export type DeclaredKinds = ReadonlyMap<string, SeriesMeta>;

/**
 * The kind and unit of a series of one agent: built-in names as the AMS defines them, then what
 * the agent declared, else a gauge without a unit.
 */
export function seriesMeta(name: string, declared?: DeclaredKinds): SeriesMeta {
  return BUILTIN_META.get(name) ?? declared?.get(name) ?? gauge(null);
}

/** Whether a stored series is bucketed as a counter (per-second rate from its increases). */
export function isCounter(name: string, declared?: DeclaredKinds): boolean {
  if (COUNTER_METRICS.has(name)) return true;
  if (BUILTIN_META.has(name)) return false;
  return declared?.get(name)?.kind === 'counter';
}
export const MAX_POINTS = 2000;
/** The automatic step aims at no more than this many points. */
export const AUTO_POINTS = 1000;
export const MAX_RANGE_MS = 31 * 86_400_000;
export const DEFAULT_RANGE_MS = 3_600_000;
export const MAX_NAMES = 50;

/** Steps the automatic choice picks from (ms): round numbers on a time axis. */
const NICE_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400].map((s) => s * 1000);

/** `10`, `0.5` (seconds) or `500ms`, `10s`, `5m`, `1h`, `1d`; undefined when it does not parse. */
export function parseStep(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's']!;
  const ms = Math.round(Number(m[1]) * unit);
  return Number.isFinite(ms) && ms >= 1 ? ms : undefined;
}

/** ISO 8601 with a zone, or epoch milliseconds; undefined when it does not parse. */
export function parseInstant(text: string): number | undefined {
  const t = text.trim();
  if (/^\d{1,15}$/.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Buckets are aligned to multiples of the step since the epoch, so live points land in stable buckets. */
export function bucketCount(fromMs: number, toMs: number, stepMs: number): number {
  return Math.floor((toMs - 1) / stepMs) - Math.floor(fromMs / stepMs) + 1;
}

export function autoStep(fromMs: number, toMs: number): number {
  for (const step of NICE_STEPS_MS) if (bucketCount(fromMs, toMs, step) <= AUTO_POINTS) return step;
  return Math.ceil((toMs - fromMs) / AUTO_POINTS / 86_400_000) * 86_400_000;
}

export interface SeriesWindow {
  fromMs: number;
  toMs: number;
  stepMs: number;
  /** Bucket start times (epoch ms), oldest first. */
  t: number[];
}

export interface RawWindowQuery {
  from?: string;
  to?: string;
  step?: string;
}

/**
 * Validates a time range and step: `from` < `to`, at most MAX_RANGE_MS, and at most
 * MAX_POINTS buckets (the step is chosen when absent). Answers the window or the issues.
 */
export function resolveWindow(q: RawWindowQuery, nowMs: number): { window?: SeriesWindow; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const bad = (path: string, reason: string) => issues.push({ path, reason, in: 'query' });
  const toMs = q.to === undefined ? nowMs : parseInstant(q.to);
  if (toMs === undefined) bad('to', 'must be an ISO 8601 time with a zone (2026-11-24T10:00:00Z) or epoch milliseconds');
  let fromMs = q.from === undefined ? (toMs ?? nowMs) - DEFAULT_RANGE_MS : parseInstant(q.from);
  if (fromMs === undefined) bad('from', 'must be an ISO 8601 time with a zone (2026-11-24T10:00:00Z) or epoch milliseconds');
  let stepMs = q.step === undefined ? undefined : parseStep(q.step);
  if (q.step !== undefined && stepMs === undefined) bad('step', 'must be seconds (10, 0.5) or a duration such as 500ms, 10s, 5m, 1h, 1d');
  if (fromMs === undefined || toMs === undefined || issues.length > 0) return { issues };
  if (fromMs >= toMs) {
    bad('from', 'must be before to');
    return { issues };
  }
  if (toMs - fromMs > MAX_RANGE_MS) {
    bad('from', `the range from..to must be at most ${MAX_RANGE_MS / 86_400_000} days`);
    return { issues };
  }
  stepMs ??= autoStep(fromMs, toMs);
  const count = bucketCount(fromMs, toMs, stepMs);
  if (count > MAX_POINTS) {
    const least = Math.ceil((toMs - fromMs) / (MAX_POINTS - 1));
    bad('step', `gives ${count} points over this range; at most ${MAX_POINTS} are answered, so step must be at least ${least / 1000} s`);
    return { issues };
  }
  fromMs = Math.max(0, fromMs);
  const first = Math.floor(fromMs / stepMs);
  const t = Array.from({ length: count }, (_, i) => (first + i) * stepMs!);
  return { window: { fromMs, toMs, stepMs, t }, issues };
}

/** `names=a,b&names=c` as a list; problems per bad name. */
export function parseNames(raw: string[] | undefined, allowed?: readonly string[]): { names?: string[]; issues: FieldIssue[] } {
  if (raw === undefined) return { issues: [] };
  const names = [...new Set(raw.flatMap((r) => r.split(',')).map((n) => n.trim()).filter(Boolean))];
  const issues: FieldIssue[] = [];
  if (names.length === 0) issues.push({ path: 'names', reason: 'must name at least one metric', in: 'query' });
  if (names.length > MAX_NAMES) issues.push({ path: 'names', reason: `at most ${MAX_NAMES} names`, in: 'query' });
  for (const n of names) {
    if (RESERVED_NAMES.has(n)) {
      issues.push({ path: 'names', reason: `${JSON.stringify(n)} is a key of the answer, not a metric`, in: 'query' });
      continue;
    }
    if (allowed ? !allowed.includes(n) : !METRIC_NAME_PATTERN.test(n)) {
      issues.push({ path: 'names', reason: allowed ? `${JSON.stringify(n)} is not one of ${allowed.join(', ')}` : `${JSON.stringify(n.slice(0, 100))} is not a metric name (lower-case letters, digits, _ and .)`, in: 'query' });
    }
  }
  return { names: issues.length ? undefined : names, issues };
}

/**
 * How late a heartbeat arrived: received time minus its own `timestamp` (a time without a zone
 * is UTC, as the protocol says). Negative when the agent's clock runs ahead of the AMS's.
 */
export function heartbeatLatencyMs(timestamp: string, receivedAt: Date): number {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(timestamp) ? timestamp : `${timestamp}Z`;
  return receivedAt.getTime() - Date.parse(zoned);
}
