// Health from heartbeats and thresholds (DESIGN.md, seed §7), as pure functions:
// healthy (heartbeat within 1.5 × interval), warning (one missed, or over a warning
// threshold), critical (three missed, or over a critical threshold), unknown (never heard).

export type Health = 'healthy' | 'warning' | 'critical' | 'unknown';

export interface Threshold {
  warning?: number;
  critical?: number;
}

/** Per-agent resource thresholds (config key `thresholds`). */
export interface Thresholds {
  cpu_percent?: Threshold;
  memory_mb?: Threshold;
  error_rate?: Threshold;
  response_ms?: Threshold;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  cpu_percent: { warning: 80, critical: 95 },
  memory_mb: { warning: 512, critical: 1024 },
  error_rate: { warning: 0.05, critical: 0.25 },
  response_ms: { warning: 1000, critical: 5000 },
};

export interface HealthReason {
  kind: 'heartbeat' | 'threshold';
  level: Exclude<Health, 'healthy' | 'unknown'>;
  message: string;
  metric?: keyof Thresholds;
  value?: number;
  threshold?: number;
  missed?: number;
  last_heartbeat?: string | null;
}

export interface HealthInput {
  /** ms since epoch of the last heartbeat, undefined when never heard. */
  lastHeartbeatMs?: number;
  intervalS: number;
  nowMs: number;
  /** Latest values of the thresholded metrics. */
  metrics: Partial<Record<keyof Thresholds, number>>;
  thresholds: Thresholds;
}

const RANK: Record<Health, number> = { unknown: 0, healthy: 1, warning: 2, critical: 3 };
export const worse = (a: Health, b: Health): Health => (RANK[a] >= RANK[b] ? a : b);

/** Whole intervals missed since the last heartbeat. */
export function missedHeartbeats(lastMs: number, intervalS: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - lastMs) / (intervalS * 1000)));
}

export function evaluateHealth(input: HealthInput): { health: Health; reasons: HealthReason[] } {
  const reasons: HealthReason[] = [];
  let health: Health = 'unknown';
  if (input.lastHeartbeatMs !== undefined) {
    const age = input.nowMs - input.lastHeartbeatMs;
    const missed = missedHeartbeats(input.lastHeartbeatMs, input.intervalS, input.nowMs);
    const last = new Date(input.lastHeartbeatMs).toISOString();
    if (age >= 3 * input.intervalS * 1000) {
      health = 'critical';
      reasons.push({ kind: 'heartbeat', level: 'critical', missed, last_heartbeat: last, message: `no heartbeat for ${(age / 1000).toFixed(1)} s (${missed} intervals missed)` });
    } else if (age > 1.5 * input.intervalS * 1000) {
      health = 'warning';
      reasons.push({ kind: 'heartbeat', level: 'warning', missed: Math.max(1, missed), last_heartbeat: last, message: `heartbeat late by ${(age / 1000 - input.intervalS).toFixed(1)} s` });
    } else {
      health = 'healthy';
    }
  }
  for (const [metric, t] of Object.entries(input.thresholds) as Array<[keyof Thresholds, Threshold | undefined]>) {
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

const round = (n: number) => Math.round(n * 100) / 100;
