// The built-in alert rules as data: one entry per rule with pure functions that say which
// alerts an event raises and which it clears. The alert service only executes what they say.
import type { AmsEvent } from '../events/bus.js';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
/** Orders of the alert list. */
export const ALERT_SORTS = ['newest', 'severity', 'last_seen'] as const;
export type AlertSort = (typeof ALERT_SORTS)[number];
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const RULE_IDS = ['agent_failed', 'crash_loop', 'heartbeat_missed', 'resource_threshold', 'recovery_escalated', 'config_rolled_back', 'host_down'] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);
export const atLeast = (s: Severity, min: Severity): boolean => severityRank(s) >= severityRank(min);
export const higher = (a: Severity, b: Severity): Severity => (severityRank(a) >= severityRank(b) ? a : b);

/** An alert a rule wants open (raised, or bumped when one with the same key is open already). */
export interface AlertSignal {
  rule: RuleId;
  severity: Severity;
  agent_id: string | null;
  /** Deduplication key: one unresolved alert per key. */
  key: string;
  title: string;
  message: string;
  details: Record<string, unknown>;
}

/** Unresolved alerts of `rule` for `agent_id` to resolve, except those whose key is in `keep` (or whose details `when` refuses). */
export interface ClearSignal {
  rule: RuleId;
  /** The agent whose alerts clear; null for an alert about no agent, named by `key`. */
  agent_id: string | null;
  key?: string;
  keep?: string[];
  /** Resolve only the alerts whose details pass this test. */
  when?: (details: Record<string, unknown>) => boolean;
  reason: string;
}

export interface CrashLoopSettings {
  /** Failures within the window that make a crash loop. */
  count: number;
  /** Window, seconds. */
  windowS: number;
}

export const DEFAULT_CRASH_LOOP: CrashLoopSettings = { count: 3, windowS: 300 };

/** What the service knows beyond the event, computed before the rules run. */
export interface RuleContext {
  crashLoop: CrashLoopSettings;
  /** Failures of the event's agent within the window, this event included (for status.changed → failed). */
  recentFailures: number;
  /** The agent's display name, when known. */
  agentName?: string;
}

/**
 * The severity a rule's alerts get: a fixed one, or the level of the health reason that raised
 * it (heartbeats and thresholds: warning or critical), never lower than `severity`.
 */
export interface RuleSeverity {
  severity: Severity;
  from: 'rule' | 'reason';
}

export interface AlertRule extends RuleSeverity {
  id: RuleId;
  /** What the rule watches for, for the README and the API's documentation. */
  description: string;
  raise(event: AmsEvent, ctx: RuleContext): AlertSignal[];
  clear(event: AmsEvent): ClearSignal[];
}

export function dedupKey(rule: RuleId, agentId: string | null, discriminator?: string): string {
  return [rule, agentId ?? '-', ...(discriminator === undefined ? [] : [discriminator])].join('|');
}

type Reason = Record<string, unknown>;

const levelOf = (r: Reason): Severity | undefined => (r.level === 'critical' ? 'critical' : r.level === 'warning' ? 'warning' : undefined);
const isHeartbeatReason = (r: Reason): boolean => typeof r.kind === 'string' && /heartbeat/i.test(r.kind) && levelOf(r) !== undefined;
const metricOf = (r: Reason): string | undefined => (typeof r.metric === 'string' && r.metric ? r.metric : undefined);
/** A threshold reason names the metric it is about (resource use, error rate, ping response time). */
const isThresholdReason = (r: Reason): boolean => !isHeartbeatReason(r) && metricOf(r) !== undefined && levelOf(r) !== undefined;

/** The agent as a person reads it: its name (the alert's agent_id holds the ID); the ID when the name is unknown. */
const who = (agentId: string, ctx: RuleContext) => ctx.agentName ?? agentId;
const PROCESS_UP = new Set(['running']);
const PROCESS_AT_REST = new Set(['stopped', 'registered']);

function exitText(details: Record<string, unknown>): string {
  const parts: string[] = [];
  if (details.exit_code !== undefined && details.exit_code !== null) parts.push(`exit code ${String(details.exit_code)}`);
  if (details.signal) parts.push(`signal ${String(details.signal)}`);
  if (typeof details.error === 'string' && details.error) parts.push(details.error);
  return parts.length > 0 ? parts.join(', ') : 'no exit status recorded';
}

const formatNumber = (v: unknown): string => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : String(v));

export const ALERT_RULES: readonly AlertRule[] = [
  {
    id: 'agent_failed',
    severity: 'warning',
    from: 'rule',
    description: 'The agent process went to `failed` (it exited without being asked to). Warning: recovery may still bring it back; see recovery_escalated.',
    raise(e, ctx) {
      if (e.type !== 'status.changed' || e.to !== 'failed') return [];
      const details = { from: e.from, event_type: e.event_type, ...e.details };
      return [
        {
          rule: 'agent_failed',
          severity: 'warning',
          agent_id: e.agent_id,
          key: dedupKey('agent_failed', e.agent_id),
          title: `Agent ${who(e.agent_id, ctx)} failed`,
          message: `The agent process went from ${e.from ?? 'unknown'} to failed: ${exitText(e.details)}.`,
          details,
        },
      ];
    },
    clear(e) {
      if (e.type === 'status.changed' && (PROCESS_UP.has(e.to) || PROCESS_AT_REST.has(e.to))) {
        return [{ rule: 'agent_failed', agent_id: e.agent_id, reason: `agent is ${e.to} again` }];
      }
      return [];
    },
  },
  {
    id: 'crash_loop',
    severity: 'critical',
    from: 'rule',
    description: 'N failures of the agent process within M minutes (defaults 3 in 5 minutes; OPMAS_ALERT_CRASH_LOOP_COUNT, OPMAS_ALERT_CRASH_LOOP_WINDOW). Resolved once the agent has run for a whole window without failing, or is stopped.',
    raise(e, ctx) {
      if (e.type !== 'status.changed' || e.to !== 'failed' || ctx.recentFailures < ctx.crashLoop.count) return [];
      const minutes = formatNumber(ctx.crashLoop.windowS / 60);
      return [
        {
          rule: 'crash_loop',
          severity: 'critical',
          agent_id: e.agent_id,
          key: dedupKey('crash_loop', e.agent_id),
          title: `Agent ${who(e.agent_id, ctx)} is crash-looping`,
          message: `${ctx.recentFailures} failures within ${minutes} min (threshold ${ctx.crashLoop.count}); last: ${exitText(e.details)}.`,
          details: { failures: ctx.recentFailures, threshold: ctx.crashLoop.count, window_s: ctx.crashLoop.windowS, last_exit: e.details },
        },
      ];
    },
    clear(e) {
      if (e.type === 'status.changed' && PROCESS_AT_REST.has(e.to)) return [{ rule: 'crash_loop', agent_id: e.agent_id, reason: `agent is ${e.to}` }];
      return [];
    },
  },
  {
    id: 'heartbeat_missed',
    severity: 'warning',
    from: 'reason',
    description: 'Health went to warning or critical because heartbeats stopped arriving. Resolved when no heartbeat reason remains (healthy again, or stopped).',
    raise(e, ctx) {
      if (e.type !== 'health.changed') return [];
      const reasons = e.reasons.filter(isHeartbeatReason);
      if (reasons.length === 0) return [];
      const severity = reasons.map((r) => levelOf(r)!).reduce(higher);
      const first = reasons[0];
      return [
        {
          rule: 'heartbeat_missed',
          severity,
          agent_id: e.agent_id,
          key: dedupKey('heartbeat_missed', e.agent_id),
          title: `Agent ${who(e.agent_id, ctx)} missed heartbeats`,
          message: typeof first.message === 'string' && first.message ? first.message : `Health is ${e.to}: heartbeats are late.`,
          details: { health: e.to, from: e.from, reasons },
        },
      ];
    },
    clear(e) {
      if (e.type === 'health.changed' && !e.reasons.some(isHeartbeatReason)) return [{ rule: 'heartbeat_missed', agent_id: e.agent_id, reason: `health is ${e.to}` }];
      if (e.type === 'status.changed' && PROCESS_AT_REST.has(e.to)) return [{ rule: 'heartbeat_missed', agent_id: e.agent_id, reason: `agent is ${e.to}` }];
      return [];
    },
  },
  {
    id: 'resource_threshold',
    severity: 'warning',
    from: 'reason',
    description: 'A metric (cpu_percent, memory_mb, error_rate, response_ms, ...) is over its warning or critical threshold; one alert per agent and metric, resolved when that metric is back under.',
    raise(e, ctx) {
      if (e.type !== 'health.changed') return [];
      return e.reasons.filter(isThresholdReason).map((r) => {
        const metric = metricOf(r)!;
        return {
          rule: 'resource_threshold' as const,
          severity: levelOf(r)!,
          agent_id: e.agent_id,
          key: dedupKey('resource_threshold', e.agent_id, metric),
          title: `Agent ${who(e.agent_id, ctx)}: ${metric} over its ${levelOf(r)} threshold`,
          message:
            typeof r.message === 'string' && r.message
              ? r.message
              : `${metric} is ${formatNumber(r.value)}, over the ${levelOf(r)} threshold of ${formatNumber(r.threshold)}.`,
          details: { metric, value: r.value ?? null, threshold: r.threshold ?? null, level: r.level, health: e.to },
        };
      });
    },
    clear(e) {
      if (e.type === 'health.changed') {
        const keep = e.reasons.filter(isThresholdReason).map((r) => dedupKey('resource_threshold', e.agent_id, metricOf(r)));
        return [{ rule: 'resource_threshold', agent_id: e.agent_id, keep, reason: `health is ${e.to}` }];
      }
      if (e.type === 'status.changed' && PROCESS_AT_REST.has(e.to)) return [{ rule: 'resource_threshold', agent_id: e.agent_id, reason: `agent is ${e.to}` }];
      return [];
    },
  },
  {
    id: 'recovery_escalated',
    severity: 'critical',
    from: 'rule',
    description: 'Automatic recovery reached its escalation threshold (or gave up). Critical; sent to the channels of the agent\'s recovery policy. Resolved when recovery succeeds or the agent runs again.',
    raise(e, ctx) {
      if (e.type !== 'recovery.escalated') return [];
      const attempts = e.attempt !== undefined ? `${e.attempt}${e.max_attempts !== undefined ? `/${e.max_attempts}` : ''} attempts` : 'its attempts';
      return [
        {
          rule: 'recovery_escalated',
          severity: 'critical',
          agent_id: e.agent_id,
          key: dedupKey('recovery_escalated', e.agent_id),
          title: `Recovery of agent ${who(e.agent_id, ctx)} escalated`,
          message: `Automatic recovery escalated after ${attempts}${e.error ? `: ${e.error}` : ''}${e.trigger ? ` (trigger ${e.trigger})` : ''}.`,
          details: {
            attempt: e.attempt ?? null,
            max_attempts: e.max_attempts ?? null,
            trigger: e.trigger ?? null,
            action: e.action ?? null,
            error: e.error ?? null,
            ...e.details,
          },
        },
      ];
    },
    clear(e) {
      if (e.type === 'recovery.succeeded') return [{ rule: 'recovery_escalated', agent_id: e.agent_id, reason: 'recovery succeeded' }];
      if (e.type === 'status.changed' && (PROCESS_UP.has(e.to) || PROCESS_AT_REST.has(e.to))) return [{ rule: 'recovery_escalated', agent_id: e.agent_id, reason: `agent is ${e.to}` }];
      return [];
    },
  },
  {
    id: 'config_rolled_back',
    severity: 'warning',
    from: 'rule',
    description: 'The crash-loop guard rolled the agent back to the last configuration it ran healthy with; the diff is in details. Resolved when a newer configuration is applied.',
    raise(e, ctx) {
      if (e.type !== 'config.rolled_back') return [];
      const d = e.details ?? {};
      const from = d.from_version ?? d.failed_version;
      const to = d.to_version ?? e.version;
      const stored = to !== e.version ? ` (stored as version ${e.version})` : '';
      return [
        {
          rule: 'config_rolled_back',
          severity: 'warning',
          agent_id: e.agent_id,
          key: dedupKey('config_rolled_back', e.agent_id),
          title: `Configuration of agent ${who(e.agent_id, ctx)} rolled back`,
          message: `Rolled back${from !== undefined ? ` from version ${String(from)}` : ''} to the settings of version ${String(to)}${stored}${typeof d.reason === 'string' ? `: ${d.reason}` : ''}.`,
          details: { version: e.version, ...d },
        },
      ];
    },
    clear(e) {
      // Applying the rolled-back version itself is part of the rollback; only a newer one clears it.
      if (e.type === 'config.applied') {
        return [{ rule: 'config_rolled_back', agent_id: e.agent_id, when: (d) => typeof d.version !== 'number' || e.version > d.version, reason: `configuration version ${e.version} applied` }];
      }
      return [];
    },
  },
  {
    id: 'host_down',
    severity: 'critical',
    from: 'rule',
    description:
      "A host's supervisor stopped renewing its lease (killed, its machine down, cut off from NATS): nothing restarts or judges that host's agents (their health is unknown). Not raised when the supervisor stopped gracefully (it released its lease). One alert per host, resolved when its supervisor is back.",
    raise(e) {
      // A supervisor stopped on purpose released its lease: that is maintenance, not an outage.
      if (e.type !== 'host.down' || e.details?.graceful === true) return [];
      const reason = typeof e.details?.reason === 'string' ? e.details.reason : 'its lease ended';
      return [
        {
          rule: 'host_down',
          severity: 'critical',
          agent_id: null,
          key: dedupKey('host_down', null, e.host_id),
          title: `Host ${e.host_id} is down`,
          message: `The supervisor of host ${e.host_id} is gone: ${reason}. Its agents are not supervised until it is back (they keep running if they were).`,
          details: { host_id: e.host_id, reason },
        },
      ];
    },
    clear(e) {
      if (e.type === 'host.up') return [{ rule: 'host_down', agent_id: null, key: dedupKey('host_down', null, e.host_id), reason: `host ${e.host_id} is up again` }];
      return [];
    },
  },
];

/** Whether an open crash-loop alert has cleared: the agent runs and has not failed for a whole window. */
export function crashLoopCleared(opts: { lastFailureMs: number; nowMs: number; windowS: number; processStatus: string | undefined }): boolean {
  return opts.processStatus === 'running' && opts.nowMs - opts.lastFailureMs >= opts.windowS * 1000;
}

/** Failure times still inside the window ending at `nowMs`, with `nowMs` appended when `add`. */
export function slideWindow(times: readonly number[], nowMs: number, windowS: number, add: boolean): number[] {
  const kept = times.filter((t) => nowMs - t < windowS * 1000);
  if (add) kept.push(nowMs);
  return kept;
}

/** Evaluates every rule: what to raise and what to clear. Clears never touch what the same event raises. */
export function evaluateRules(event: AmsEvent, ctx: RuleContext, rules: readonly AlertRule[] = ALERT_RULES): { raise: AlertSignal[]; clear: ClearSignal[] } {
  if (event.type.startsWith('alert.')) return { raise: [], clear: [] };
  const raise = rules.flatMap((r) => r.raise(event, ctx));
  const raisedKeys = new Set(raise.map((s) => s.key));
  const clear = rules
    .flatMap((r) => r.clear(event))
    .map((c) => ({ ...c, keep: [...new Set([...(c.keep ?? []), ...[...raisedKeys].filter((k) => k.startsWith(`${c.rule}|`))])] }));
  return { raise, clear };
}
