// Health from heartbeats and thresholds (DESIGN.md, seed §7), as pure functions:
// healthy (heartbeat within 1.5 × interval), warning (one missed, or over a warning
// threshold), critical (three missed, or over a critical threshold), unknown (never heard).

export type Health = 'healthy' | 'warning' | 'critical' | 'unknown';

export interface Threshold {
  warning?: number;
  critical?: number;
}

export const THRESHOLD_METRICS = ['cpu_percent', 'memory_mb', 'error_rate', 'response_ms'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

/** Per-agent resource thresholds (config key `thresholds`). */
export type Thresholds = Partial<Record<ThresholdMetric, Threshold>>;

export const DEFAULT_THRESHOLDS: Thresholds = {
  cpu_percent: { warning: 80, critical: 95 },
  memory_mb: { warning: 512, critical: 1024 },
  error_rate: { warning: 0.05, critical: 0.25 },
  response_ms: { warning: 1000, critical: 5000 },
};

/**
 * A supervised process that has not heartbeated since it started is `unknown` for this long
 * (or 3 × interval, whichever is longer) and `critical` after: an agent needs a moment to
 * load and connect, but one that never says anything is not working.
 */
export const STARTUP_GRACE_S = 10;

export interface HealthReason {
  kind: 'heartbeat' | 'threshold';
  level: Exclude<Health, 'healthy' | 'unknown'>;
  message: string;
  metric?: ThresholdMetric;
  value?: number;
  threshold?: number;
  missed?: number;
  last_heartbeat?: string | null;
}

export interface HealthInput {
  /** ms since epoch of the last heartbeat (of the current process, when supervised); undefined when never heard. */
  lastHeartbeatMs?: number;
  /** ms since epoch the supervised process started; undefined for agents the AMS does not run. */
  processStartMs?: number;
  intervalS: number;
  nowMs: number;
  /** Latest values of the thresholded metrics. */
  metrics: Partial<Record<ThresholdMetric, number>>;
  thresholds: Thresholds;
}

const RANK: Record<Health, number> = { unknown: 0, healthy: 1, warning: 2, critical: 3 };
export const worse = (a: Health, b: Health): Health => (RANK[a] >= RANK[b] ? a : b);

/** Whole intervals missed since the last heartbeat. */
export function missedHeartbeats(lastMs: number, intervalS: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - lastMs) / (intervalS * 1000)));
}

/** Milliseconds after the last heartbeat at which the agent turns warning and critical. */
export function heartbeatDeadlines(intervalS: number): { warningMs: number; criticalMs: number } {
  return { warningMs: 1.5 * intervalS * 1000, criticalMs: 3 * intervalS * 1000 };
}

/** How long a silent supervised process is given after its start. */
export const startupDeadlineMs = (intervalS: number) => Math.max(3 * intervalS, STARTUP_GRACE_S) * 1000;

export function evaluateHealth(input: HealthInput): { health: Health; reasons: HealthReason[] } {
  const reasons: HealthReason[] = [];
  let health: Health = 'unknown';
  const { warningMs, criticalMs } = heartbeatDeadlines(input.intervalS);
  if (input.lastHeartbeatMs !== undefined) {
    const age = input.nowMs - input.lastHeartbeatMs;
    const missed = missedHeartbeats(input.lastHeartbeatMs, input.intervalS, input.nowMs);
    const last = new Date(input.lastHeartbeatMs).toISOString();
    if (age >= criticalMs) {
      health = 'critical';
      reasons.push({ kind: 'heartbeat', level: 'critical', missed, last_heartbeat: last, message: `no heartbeat for ${(age / 1000).toFixed(1)} s (${missed} intervals missed)` });
    } else if (age > warningMs) {
      health = 'warning';
      reasons.push({ kind: 'heartbeat', level: 'warning', missed: Math.max(1, missed), last_heartbeat: last, message: `heartbeat late by ${(age / 1000 - input.intervalS).toFixed(1)} s` });
    } else {
      health = 'healthy';
    }
  } else if (input.processStartMs !== undefined && input.nowMs - input.processStartMs >= startupDeadlineMs(input.intervalS)) {
    const age = input.nowMs - input.processStartMs;
    health = 'critical';
    reasons.push({
      kind: 'heartbeat',
      level: 'critical',
      missed: missedHeartbeats(input.processStartMs, input.intervalS, input.nowMs),
      last_heartbeat: null,
      message: `no heartbeat since the process started ${(age / 1000).toFixed(1)} s ago`,
    });
  }
  for (const metric of THRESHOLD_METRICS) {
    const t = input.thresholds[metric];
    const value = input.metrics[metric];
    if (value === undefined || !t) continue;
    const level = t.critical !== undefined && value >= t.critical ? 'critical' : t.warning !== undefined && value >= t.warning ? 'warning' : undefined;
    if (!level) continue;
    const threshold = level === 'critical' ? t.critical! : t.warning!;
    reasons.push({ kind: 'threshold', level, metric, value, threshold, message: `${metric} ${round(value)} is over the ${level} threshold ${threshold}` });
    health = health === 'unknown' ? level : worse(health, level);
  }
  return { health, reasons };
}

/**
 * The thresholds in force: the defaults, with each metric the config key `thresholds` names
 * replaced field by field; `null` for a metric turns it off. Anything malformed is ignored
 * (the config validation reports it when it is stored).
 */
export function effectiveThresholds(configured: unknown): Thresholds {
  const out: Thresholds = { ...DEFAULT_THRESHOLDS };
  if (!configured || typeof configured !== 'object' || Array.isArray(configured)) return out;
  for (const metric of THRESHOLD_METRICS) {
    if (!Object.hasOwn(configured, metric)) continue;
    const given = (configured as Record<string, unknown>)[metric];
    if (given === null) {
      delete out[metric];
      continue;
    }
    if (!given || typeof given !== 'object') continue;
    const t: Threshold = { ...out[metric] };
    for (const level of ['warning', 'critical'] as const) {
      const v = (given as Record<string, unknown>)[level];
      if (v === null) delete t[level];
      else if (typeof v === 'number' && Number.isFinite(v)) t[level] = v;
    }
    out[metric] = t;
  }
  return out;
}

/** Why a `thresholds` config value is not acceptable, or undefined. */
export function thresholdsProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'must be an object of metric thresholds';
  for (const [metric, t] of Object.entries(value)) {
    if (!(THRESHOLD_METRICS as readonly string[]).includes(metric)) return `${metric} is not a thresholded metric (${THRESHOLD_METRICS.join(', ')})`;
    if (t === null) continue;
    if (!t || typeof t !== 'object' || Array.isArray(t)) return `${metric} must be {warning?, critical?} or null`;
    for (const [level, v] of Object.entries(t)) {
      if (level !== 'warning' && level !== 'critical') return `${metric}.${level} is not warning or critical`;
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) return `${metric}.${level} must be a non-negative number or null`;
    }
    const { warning, critical } = t as Threshold;
    if (typeof warning === 'number' && typeof critical === 'number' && warning > critical) return `${metric}.warning must not be above ${metric}.critical`;
  }
  return undefined;
}

/** Which recovery trigger a critical evaluation calls for. */
export function criticalCause(reasons: HealthReason[]): 'resource_exhaustion' | 'heartbeat' | 'threshold' {
  const critical = reasons.filter((r) => r.level === 'critical');
  if (critical.some((r) => r.metric === 'cpu_percent' || r.metric === 'memory_mb')) return 'resource_exhaustion';
  return critical.some((r) => r.kind === 'heartbeat') ? 'heartbeat' : 'threshold';
}

const round = (n: number) => Math.round(n * 100) / 100;
