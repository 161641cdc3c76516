// Which charts an agent gets and how their values read: the resource and protocol series in
// fixed groups, then one chart per number the agent reports itself, each formatted by the
// kind and unit the AMS answers in `meta` (a counter is a per-second rate: "<unit>/s").
import type { SeriesDef, Threshold } from '../../charts/chart-options';
import { bytes, number } from '../common/format';

export interface SeriesMeta {
  kind: 'gauge' | 'counter';
  unit: string | null;
}

export interface MetricChartDef {
  id: string;
  title: string;
  series: SeriesDef[];
  /** The unit as the axis reads it ("%", "MiB", "events/s"). */
  unit: string;
  format(v: number): string;
  /** The config threshold (thresholds.<metric>) drawn on this chart. */
  threshold?: string;
}

/** What each built-in series is when an older AMS answers without `meta`. */
export const BUILTIN_META: Record<string, SeriesMeta> = {
  cpu_percent: { kind: 'gauge', unit: '%' },
  memory_mb: { kind: 'gauge', unit: 'MiB' },
  disk_read_bytes: { kind: 'counter', unit: 'bytes' },
  disk_write_bytes: { kind: 'counter', unit: 'bytes' },
  net_rx_bytes: { kind: 'counter', unit: 'bytes' },
  net_tx_bytes: { kind: 'counter', unit: 'bytes' },
  response_ms: { kind: 'gauge', unit: 'ms' },
  heartbeat_latency_ms: { kind: 'gauge', unit: 'ms' },
  events_processed: { kind: 'counter', unit: 'events' },
  events_failed: { kind: 'counter', unit: 'events' },
  processing_ms: { kind: 'gauge', unit: 'ms' },
  error_rate: { kind: 'gauge', unit: 'ratio' },
};

/** Counters in live samples (cumulative there; per-second rates on the charts). */
export const SAMPLE_COUNTERS: ReadonlySet<string> = new Set(['disk_read_bytes', 'disk_write_bytes', 'net_rx_bytes', 'net_tx_bytes']);

/** The unit as read on an axis: a counter's is per second. */
export function unitText(meta: SeriesMeta): string {
  const u = meta.unit === 'ratio' ? '%' : (meta.unit ?? '');
  if (meta.kind === 'counter') return `${u || 'per'}/s`.replace('per/s', '/s');
  return u;
}

/** A formatter for values of this kind and unit. */
export function formatterFor(meta: SeriesMeta): (v: number) => string {
  const perS = meta.kind === 'counter' ? '/s' : '';
  switch (meta.unit) {
    case '%':
      return (v) => `${number(v, v < 1 ? 2 : 1)} %`;
    case 'ratio':
      return (v) => `${number(v * 100, 2)} %`;
    case 'bytes':
      return (v) => `${bytes(v)}${perS}`;
    case 'MiB':
      return (v) => `${number(v, v < 10 ? 2 : 1)} MiB${perS}`;
    case 'ms':
      return (v) => `${number(v, v < 10 ? 2 : 1)} ms${perS}`;
    case null:
    case undefined:
    case '':
      return (v) => `${number(v, 2)}${perS ? ' /s' : ''}`;
    default:
      return (v) => `${number(v, 2)} ${meta.unit}${perS}`;
  }
}

const GROUPS: Array<{ id: string; title: string; names: Array<[string, string]>; threshold?: string; always: boolean }> = [
  { id: 'cpu', title: 'CPU', names: [['cpu_percent', 'CPU']], threshold: 'cpu_percent', always: true },
  { id: 'memory', title: 'Memory', names: [['memory_mb', 'Memory']], threshold: 'memory_mb', always: true },
  { id: 'disk', title: 'Disk I/O', names: [['disk_read_bytes', 'Read'], ['disk_write_bytes', 'Write']], always: true },
  { id: 'network', title: 'Network', names: [['net_rx_bytes', 'In'], ['net_tx_bytes', 'Out']], always: true },
  { id: 'response', title: 'Response time (ping)', names: [['response_ms', 'Response']], threshold: 'response_ms', always: true },
  { id: 'errors', title: 'Error rate', names: [['error_rate', 'Error rate']], threshold: 'error_rate', always: true },
  { id: 'heartbeat', title: 'Heartbeat latency', names: [['heartbeat_latency_ms', 'Latency']], always: true },
  { id: 'events', title: 'Events', names: [['events_processed', 'Processed'], ['events_failed', 'Failed']], always: false },
  { id: 'processing', title: 'Processing time per event', names: [['processing_ms', 'Per event']], always: false },
];

const GROUPED = new Set(GROUPS.flatMap((g) => g.names.map(([n]) => n)));

/** A reported metric's name as a title: "failed_logins" → "Failed logins". */
export function metricTitle(name: string): string {
  const s = name.replace(/[_.]+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The charts for an answer: the fixed groups (those that are not always shown only when the
 * answer has them), then one per other series, by name.
 */
export function chartDefs(names: readonly string[], meta: Readonly<Record<string, SeriesMeta>>): MetricChartDef[] {
  const present = new Set(names);
  const metaOf = (n: string): SeriesMeta => (Object.hasOwn(meta, n) ? meta[n] : (BUILTIN_META[n] ?? { kind: 'gauge', unit: null }));
  const defs: MetricChartDef[] = [];
  for (const g of GROUPS) {
    if (!g.always && !g.names.some(([n]) => present.has(n))) continue;
    const m = metaOf(g.names[0][0]);
    defs.push({ id: g.id, title: g.title, series: g.names.map(([name, label]) => ({ name, label })), unit: unitText(m), format: formatterFor(m), threshold: g.threshold });
  }
  for (const name of [...present].filter((n) => !GROUPED.has(n)).sort()) {
    const m = metaOf(name);
    defs.push({ id: `metric-${name}`, title: metricTitle(name), series: [{ name, label: metricTitle(name) }], unit: unitText(m), format: formatterFor(m) });
  }
  return defs;
}

/** The AMS's default thresholds (server/supervisor health rules); the agent's `thresholds` config overrides them, null turns one off. */
export const DEFAULT_THRESHOLDS: Record<string, { warning?: number | null; critical?: number | null }> = {
  cpu_percent: { warning: 80, critical: 95 },
  memory_mb: { warning: 512, critical: 1024 },
  error_rate: { warning: 0.05, critical: 0.25 },
  response_ms: { warning: 1000, critical: 5000 },
};

/** Threshold lines per metric from the effective config's `thresholds` value. */
export function thresholdsFrom(config: unknown): Record<string, Threshold[]> {
  const set = config && typeof config === 'object' ? (config as Record<string, unknown>) : {};
  const out: Record<string, Threshold[]> = {};
  const names = new Set([...Object.keys(DEFAULT_THRESHOLDS), ...Object.keys(set)]);
  for (const name of names) {
    const own = Object.hasOwn(set, name) && set[name] && typeof set[name] === 'object' ? (set[name] as Record<string, unknown>) : {};
    const base = DEFAULT_THRESHOLDS[name] ?? {};
    const list: Threshold[] = [];
    for (const level of ['warning', 'critical'] as const) {
      const v = Object.hasOwn(own, level) ? own[level] : base[level];
      if (typeof v === 'number' && Number.isFinite(v)) list.push({ value: v, level });
    }
    if (list.length) out[name] = list;
  }
  return out;
}
