// The health monitor: keeps each agent's heartbeat times, latest resource sample, error rate
// and ping response time in memory, evaluates health with the pure rules at the exact moment
// it can change (a timer per agent at the next deadline, so detection lags a deadline by
// timer latency only), stores every change through the status service and tells the
// supervisor, which turns `critical` into `degraded` and recovery.
import type { Logger } from 'pino';
import { dictionary } from '../domain/own.js';
import {
  criticalCause, DEFAULT_THRESHOLDS, evaluateHealth, type Health, type HealthReason, heartbeatDeadlines, startupDeadlineMs, THRESHOLD_METRICS,
  type ThresholdMetric, type Thresholds,
} from './health-rules.js';

export interface MonitorConfig {
  intervalS: number;
  thresholds: Thresholds;
}

export interface HealthChange {
  agentId: string;
  from: Health;
  to: Health;
  reasons: HealthReason[];
  /** What a critical evaluation calls for: resource exhaustion, lost heartbeats (dependency: the broker was down), other thresholds. */
  cause?: 'resource_exhaustion' | 'heartbeat' | 'dependency' | 'threshold';
  /** Whether the AMS runs the process. */
  supervised: boolean;
}

export interface HealthView {
  agent_id: string;
  health: Health;
  reasons: HealthReason[];
  last_heartbeat: string | null;
  heartbeat_interval: number;
  metrics: Partial<Record<string, number>>;
}

interface AgentHealth {
  intervalS: number;
  thresholds: Thresholds;
  supervised: boolean;
  lastHeartbeatMs?: number;
  /**
   * When the heartbeat interval last changed: heartbeats older than that are judged as if they
   * came then, so a shorter interval never condemns a heartbeat sent under the longer one.
   */
  intervalSinceMs?: number;
  processStartMs?: number;
  metrics: Partial<Record<ThresholdMetric, number>>;
  /** Latest agent-reported counters, for the error rate. */
  counters?: { processed: number; failed: number };
  /** Other latest numbers (resource sample, reported metrics) for the status view. */
  latest: Record<string, number>;
  health: Health;
  reasons: HealthReason[];
  timer?: NodeJS.Timeout;
  pingTimer?: NodeJS.Timeout;
  pinging: boolean;
  /** When the latest ping answered (epoch ms). */
  pingAt?: number;
  writes: Promise<void>;
}

export interface HealthMonitorDeps {
  /** Where health changes are recorded (the supervisor's observations, or the status service). */
  status: { setHealth(agentId: string, to: Health, reasons: Array<Record<string, unknown>>, details?: Record<string, unknown>): Promise<unknown> };
  logger: Logger;
  onChange(change: HealthChange): void;
  /** Round trip of a `ping` control request in ms; undefined when nobody answered at once (not connected). */
  ping(agentId: string, timeoutMs: number): Promise<number | undefined>;
  /** Whether the broker is down now, and for how long it was down since a moment. */
  broker(): { down: boolean; downMsSince(sinceMs: number): number };
  /** Interval and thresholds from the agent's effective config. */
  configOf(agentId: string): Promise<MonitorConfig>;
  now?: () => number;
}

export const DEFAULT_INTERVAL_S = 30;

export type HealthMonitor = ReturnType<typeof createHealthMonitor>;

export function createHealthMonitor(deps: HealthMonitorDeps) {
  const now = deps.now ?? Date.now;
  const agents = new Map<string, AgentHealth>();
  let stopped = false;

  function stateOf(agentId: string, initial?: Partial<AgentHealth>): AgentHealth {
    let s = agents.get(agentId);
    if (!s) {
      s = { intervalS: DEFAULT_INTERVAL_S, thresholds: DEFAULT_THRESHOLDS, supervised: false, metrics: {}, latest: dictionary<number>(), health: 'unknown', reasons: [], pinging: false, writes: Promise.resolve(), ...initial };
      agents.set(agentId, s);
    }
    return s;
  }

  function evaluate(agentId: string): void {
    const s = agents.get(agentId);
    if (!s || stopped) return;
    const t = now();
    const result = evaluateHealth({ lastHeartbeatMs: judgedHeartbeat(s), processStartMs: s.supervised ? s.processStartMs : undefined, intervalS: s.intervalS, nowMs: t, metrics: s.metrics, thresholds: s.thresholds });
    const broker = deps.broker();
    // The broker explains the silence when it is down, or was down for at least an interval of it
    // (a reload's blip of a few milliseconds explains nothing).
    const since = s.lastHeartbeatMs ?? s.processStartMs;
    const dependency = broker.down || (since !== undefined && broker.downMsSince(since) >= s.intervalS * 1000);
    for (const r of result.reasons) {
      if (r.kind === 'heartbeat' && dependency) r.message += broker.down ? ' (the broker is unavailable)' : ' (the broker was unavailable)';
    }
    s.reasons = result.reasons;
    if (result.health !== s.health) {
      const from = s.health;
      s.health = result.health;
      const cause = result.health === 'critical' ? criticalCauseOf(result.reasons, dependency) : undefined;
      const change: HealthChange = { agentId, from, to: result.health, reasons: result.reasons, cause, supervised: s.supervised };
      s.writes = s.writes
        .then(async () => {
          await deps.status.setHealth(agentId, change.to, change.reasons as unknown as Array<Record<string, unknown>>, cause ? { cause } : {});
          deps.onChange(change);
        })
        .catch((err) => deps.logger.warn({ agentId, err: (err as Error).message }, 'storing a health change failed'));
    }
    schedule(agentId, s, t);
  }

  function criticalCauseOf(reasons: HealthReason[], dependency: boolean): HealthChange['cause'] {
    const c = criticalCause(reasons);
    return c === 'heartbeat' && dependency ? 'dependency' : c;
  }

  /** The heartbeat time health is judged from (never before the current interval took effect). */
  function judgedHeartbeat(s: AgentHealth): number | undefined {
    if (s.lastHeartbeatMs === undefined) return undefined;
    return s.intervalSinceMs === undefined ? s.lastHeartbeatMs : Math.max(s.lastHeartbeatMs, s.intervalSinceMs);
  }

  /** A new heartbeat interval takes effect now: from this moment, not retroactively. */
  function setInterval_(s: AgentHealth, intervalS: number): boolean {
    if (intervalS === s.intervalS) return false;
    s.intervalS = intervalS;
    s.intervalSinceMs = now();
    return true;
  }

  /** One timer per agent, at the next moment its heartbeat-based health can change. */
  function schedule(agentId: string, s: AgentHealth, t: number): void {
    clearTimeout(s.timer);
    s.timer = undefined;
    const { warningMs, criticalMs } = heartbeatDeadlines(s.intervalS);
    let at: number | undefined;
    const hb = judgedHeartbeat(s);
    if (hb !== undefined) {
      // warning is "more than 1.5 intervals", critical "at least 3": the first instant past each.
      for (const d of [hb + warningMs + 1, hb + criticalMs]) if (d > t) {
        at = d;
        break;
      }
    } else if (s.supervised && s.processStartMs !== undefined) {
      const d = s.processStartMs + startupDeadlineMs(s.intervalS);
      if (d > t) at = d;
    }
    if (at !== undefined) {
      s.timer = setTimeout(() => evaluate(agentId), Math.max(0, at - t));
      s.timer.unref();
    }
  }

  function schedulePings(agentId: string, s: AgentHealth): void {
    clearInterval(s.pingTimer);
    s.pingTimer = undefined;
    if (!s.supervised || stopped) return;
    const every = Math.max(s.intervalS, 1) * 1000;
    s.pingTimer = setInterval(() => void pingOnce(agentId, s), every);
    s.pingTimer.unref();
  }

  async function pingOnce(agentId: string, s: AgentHealth): Promise<void> {
    if (s.pinging || s.lastHeartbeatMs === undefined || deps.broker().down) return;
    s.pinging = true;
    try {
      const critical = s.thresholds.response_ms?.critical ?? 5000;
      const ms = await deps.ping(agentId, Math.min(Math.max(critical * 2, 1000), 15_000));
      if (ms === undefined || agents.get(agentId) !== s || !s.supervised) return;
      s.metrics.response_ms = Math.round(ms * 100) / 100;
      s.latest.response_ms = s.metrics.response_ms;
      s.pingAt = now();
      evaluate(agentId);
    } finally {
      s.pinging = false;
    }
  }

  async function refreshConfig(agentId: string): Promise<void> {
    try {
      const cfg = await deps.configOf(agentId);
      const s = agents.get(agentId);
      if (!s) return;
      const intervalChanged = setInterval_(s, cfg.intervalS);
      s.thresholds = cfg.thresholds;
      if (intervalChanged) schedulePings(agentId, s);
      evaluate(agentId);
    } catch (err) {
      deps.logger.debug({ agentId, err: (err as Error).message }, 'health monitor could not read the config');
    }
  }

  return {
    /** Picks up an agent known from the database (AMS start): its last heartbeat and stored health. */
    track(agentId: string, known: { lastHeartbeatMs?: number; health: Health; config: MonitorConfig }): void {
      const s = stateOf(agentId, { health: known.health });
      s.lastHeartbeatMs = known.lastHeartbeatMs;
      s.intervalS = known.config.intervalS;
      s.thresholds = known.config.thresholds;
      evaluate(agentId);
    },

    heartbeat(agentId: string, at: Date, metrics?: Record<string, number>): void {
      const fresh = !agents.has(agentId);
      const s = stateOf(agentId);
      const t = at.getTime();
      if (s.supervised && s.processStartMs !== undefined && t < s.processStartMs) return;
      const first = s.lastHeartbeatMs === undefined;
      s.lastHeartbeatMs = t;
      if (metrics) for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number') s.latest[k] = v;
      if (fresh) void refreshConfig(agentId);
      if (first && s.supervised) void pingOnce(agentId, s);
      evaluate(agentId);
    },

    /** The agent's own counters: the error rate is failures over events since the previous report. */
    agentMetrics(agentId: string, body: { events_processed: number; events_failed: number } & Record<string, unknown>): void {
      const s = agents.get(agentId);
      if (!s) return;
      for (const [k, v] of Object.entries(body)) if (typeof v === 'number') s.latest[k] = v;
      const prev = s.counters;
      const cur = { processed: body.events_processed, failed: body.events_failed };
      s.counters = cur;
      const reset = !prev || cur.processed < prev.processed || cur.failed < prev.failed;
      const processed = reset ? cur.processed : cur.processed - prev.processed;
      const failed = reset ? cur.failed : cur.failed - prev.failed;
      if (processed > 0) s.metrics.error_rate = Math.round((failed / processed) * 10_000) / 10_000;
      else delete s.metrics.error_rate;
      if (s.metrics.error_rate !== undefined) s.latest.error_rate = s.metrics.error_rate;
      evaluate(agentId);
    },

    /** A resource sample (`metrics.sample` events: cpu_percent, memory_mb, ...). */
    sample(agentId: string, values: Record<string, number>): void {
      const s = agents.get(agentId);
      if (!s || !s.supervised) return;
      Object.assign(s.latest, values);
      for (const m of THRESHOLD_METRICS) if (typeof values[m] === 'number') s.metrics[m] = values[m];
      evaluate(agentId);
    },

    /** A process the AMS runs started: only its own heartbeats count from now on. */
    processStarted(agentId: string, startedAt: Date, config: MonitorConfig, opts: { adopted?: { lastHeartbeatMs?: number } } = {}): void {
      const s = stateOf(agentId);
      s.supervised = true;
      s.processStartMs = startedAt.getTime();
      // A fast agent's first heartbeat can arrive before its start is recorded: it is its own, and kept.
      const early = s.lastHeartbeatMs !== undefined && s.lastHeartbeatMs >= s.processStartMs ? s.lastHeartbeatMs : undefined;
      s.lastHeartbeatMs = opts.adopted ? opts.adopted.lastHeartbeatMs : early;
      s.metrics = {};
      s.latest = dictionary<number>();
      s.counters = undefined;
      s.intervalS = config.intervalS;
      s.intervalSinceMs = undefined;
      s.thresholds = config.thresholds;
      schedulePings(agentId, s);
      evaluate(agentId);
    },

    /** The process is gone (stopped or exited): nothing is heard from it any more. */
    processEnded(agentId: string): void {
      const s = agents.get(agentId);
      if (!s) return;
      s.supervised = false;
      s.processStartMs = undefined;
      s.lastHeartbeatMs = undefined;
      s.metrics = {};
      s.counters = undefined;
      clearInterval(s.pingTimer);
      s.pingTimer = undefined;
      evaluate(agentId);
    },

    configure(agentId: string, config: MonitorConfig): void {
      const s = agents.get(agentId);
      if (!s) return;
      const intervalChanged = setInterval_(s, config.intervalS);
      s.thresholds = config.thresholds;
      if (intervalChanged) schedulePings(agentId, s);
      evaluate(agentId);
    },

    /**
     * Records the current health of every agent whose process runs here again, changed or not:
     * the control plane set them `unknown` while this host was down, and nothing would change here
     * to say otherwise (its lease lapsed while its processes ran on).
     */
    reportAll(cause: string): void {
      if (stopped) return;
      for (const [agentId, s] of agents) {
        if (!s.supervised) continue;
        s.writes = s.writes
          .then(async () => {
            await deps.status.setHealth(agentId, s.health, s.reasons as unknown as Array<Record<string, unknown>>, { cause });
          })
          .catch((err) => deps.logger.warn({ agentId, err: (err as Error).message }, 'reporting the health again failed'));
      }
    },

    /** Re-evaluates every agent (the broker came back or went away). */
    evaluateAll(): void {
      for (const id of agents.keys()) evaluate(id);
    },

    forget(agentId: string): void {
      const s = agents.get(agentId);
      if (!s) return;
      clearTimeout(s.timer);
      clearInterval(s.pingTimer);
      agents.delete(agentId);
    },

    health: (agentId: string): Health | undefined => agents.get(agentId)?.health,

    /** The latest ping round trip (ms) of the running process and when it answered; undefined before the first. */
    latestPing(agentId: string): { ms: number; at: number } | undefined {
      const s = agents.get(agentId);
      return s?.pingAt !== undefined && s.metrics.response_ms !== undefined ? { ms: s.metrics.response_ms, at: s.pingAt } : undefined;
    },

    view(agentId: string): HealthView | undefined {
      const s = agents.get(agentId);
      if (!s) return undefined;
      return {
        agent_id: agentId,
        health: s.health,
        reasons: s.reasons,
        last_heartbeat: s.lastHeartbeatMs === undefined ? null : new Date(s.lastHeartbeatMs).toISOString(),
        heartbeat_interval: s.intervalS,
        metrics: { ...s.latest, ...s.metrics },
      };
    },

    /** Waits for pending health writes (tests and shutdown). */
    async settle(): Promise<void> {
      await Promise.all([...agents.values()].map((s) => s.writes));
    },

    stop(): void {
      stopped = true;
      for (const s of agents.values()) {
        clearTimeout(s.timer);
        clearInterval(s.pingTimer);
      }
    },
  };
}
