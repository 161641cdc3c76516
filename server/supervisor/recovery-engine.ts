// The recovery engine (seed §6.4): per agent, an episode of attempts opened by a failure
// (unexpected exit, health critical, resource exhaustion, dependency failure, or a manual
// request). It schedules each attempt with the policy's backoff, runs its action through the
// supervisor (restart, dependency reconnection, config rollback), records it, judges it by
// whether a healthy agent results within recovery_timeout, escalates, and gives up after the
// last attempt. The counter resets once the agent has stayed healthy for stable_after.
//
// The supervisor's per-agent queue runs every action; the engine never waits for that queue
// from inside it (its entry points are called fire-and-forget), so the two cannot deadlock.
import type { Logger } from 'pino';
import type { AmsEventInput } from '../events/bus.js';
import type { RecoveryState as RecoveryStatus } from '../domain/statuses.js';
import type { RecoveryStateWire } from '../broker/host-protocol.js';
import {
  actionForAttempt, nextAttemptNumber, nextRecoveryDelay, remainingAttempts, shouldEscalate, type RecoveryAction, type RecoveryPolicy,
  type RecoveryTrigger,
} from '../domain/recovery-policy.js';
import type { GuardDecision } from './config-guard.js';

export interface AttemptCause {
  cause: 'recovery';
  attempt: number;
  max_attempts: number;
  trigger: RecoveryTrigger;
  action: RecoveryAction;
}

export interface RecoveryActions {
  /** Stop (if running) and start the agent; resolves once the new process runs. */
  restart(agentId: string, cause: AttemptCause): Promise<void>;
  /** Wait for the broker (up to `waitMs`) and ask the agent to reconnect (`reload`). */
  reconnect(agentId: string, waitMs: number): Promise<void>;
  /** Store the rollback version, then restart on it. */
  rollback(agentId: string, decision: Extract<GuardDecision, { rollback: true }>, cause: AttemptCause): Promise<void>;
  /** After the last failed attempt: end the process if it still runs and mark it failed. */
  giveUp(agentId: string, reason: string): Promise<void>;
}

/** Where attempts are recorded (the supervisor's observations). */
export interface AttemptRecorder {
  /** Records a started attempt; answers its key. */
  insert(a: { agent_id: string; attempt_number: number; recovery_strategy: string; trigger: string; started_at: Date; episode_started_at: Date; details: Record<string, unknown> }): string;
  finish(key: string, agentId: string, status: 'succeeded' | 'failed' | 'cancelled', error: string | null, extra?: Record<string, unknown>): void;
}

/** The status calls the engine makes (the supervisor's local status). */
export interface RecoveryStatusPort {
  setRecovery(agentId: string, to: RecoveryStatus, event: string, details: Record<string, unknown>, busEvent?: AmsEventInput): Promise<unknown>;
  note(agentId: string, event: string, details: Record<string, unknown>, opts?: { statuses?: 'process' | 'recovery'; busEvent?: AmsEventInput }): Promise<void>;
}

export interface RecoveryEngineDeps {
  attempts: AttemptRecorder;
  status: RecoveryStatusPort;
  /** Live events that record nothing (an attempt starting): sent to the control plane with the next status change. */
  logger: Logger;
  policyOf(agentId: string): Promise<RecoveryPolicy>;
  /** Runs `fn` in the supervisor's queue of the agent. */
  run<T>(agentId: string, fn: () => Promise<T>): Promise<T>;
  actions: RecoveryActions;
  /** The crash-loop guard's verdict for a failure that opens an episode. */
  guard(agentId: string, policy: RecoveryPolicy): Promise<GuardDecision>;
  /** Whether the agent is healthy right now with a live process (an action may have made it so at once). */
  healthyNow(agentId: string): boolean;
  /** Called when the agent has been healthy for stable_after (its config version counts as good). */
  onStable(agentId: string): void;
  random?: () => number;
  now?: () => number;
}

interface CurrentAttempt {
  key: string;
  number: number;
  action: RecoveryAction;
  startedAt: number;
  timer?: NodeJS.Timeout;
}

interface Episode {
  startedAt: Date;
  trigger: RecoveryTrigger;
  failure: Record<string, unknown>;
  attempts: number;
  failed: number;
  escalated: boolean;
  /** Spent: the last attempt failed; a manual request opens a new episode. */
  exhausted: boolean;
  cancelled: boolean;
  /** Opened, its first attempt not scheduled yet (the policy is being read). */
  pending: boolean;
  rollback?: Extract<GuardDecision, { rollback: true }>;
  scheduled?: { number: number; at: Date; timer: NodeJS.Timeout };
  /** The history row of the latest scheduling, written in the background. */
  recorded?: Promise<unknown>;
  current?: CurrentAttempt;
  lastError?: string;
}

export interface RecoveryState {
  in_progress: boolean;
  attempts_made: number;
  next_attempt_at: string | null;
  exhausted: boolean;
  episode_started_at: string | null;
  trigger: RecoveryTrigger | null;
}

export type RecoveryEngine = ReturnType<typeof createRecoveryEngine>;

export function createRecoveryEngine(deps: RecoveryEngineDeps) {
  const now = deps.now ?? Date.now;
  const episodes = new Map<string, Episode>();
  const stableTimers = new Map<string, NodeJS.Timeout>();
  /** The engine's own per-agent serialization of episode changes. */
  const chains = new Map<string, Promise<void>>();
  let stopped = false;

  function serial(agentId: string, fn: () => Promise<void>): Promise<void> {
    const next = (chains.get(agentId) ?? Promise.resolve())
      .then(fn)
      .catch((err) => deps.logger.warn({ agentId, err: (err as Error).message }, 'recovery step failed'));
    chains.set(agentId, next);
    void next.then(() => {
      if (chains.get(agentId) === next) chains.delete(agentId);
    });
    return next;
  }

  const live = (agentId: string, ep: Episode) => !stopped && !ep.cancelled && episodes.get(agentId) === ep;

  async function schedule(agentId: string, ep: Episode, policy: RecoveryPolicy, previousError?: string): Promise<void> {
    ep.pending = false;
    const n = nextAttemptNumber(policy, { attempts: ep.attempts });
    if (n === undefined) return giveUp(agentId, ep, policy, previousError ?? 'the recovery budget is spent');
    const delayS = nextRecoveryDelay(policy, n, (deps.random ?? Math.random)());
    const at = new Date(now() + delayS * 1000);
    const timer = setTimeout(() => void serial(agentId, () => runAttempt(agentId, ep, n, delayS)), delayS * 1000);
    timer.unref();
    ep.scheduled = { number: n, at, timer };
    const action = ep.rollback && n === 1 ? 'config_rollback' : actionForAttempt(ep.trigger, n);
    // Not awaited here: an attempt due at once (retry_delay 0) must not wait for this row, which
    // the database still writes before the attempt's own rows (they are queued after it).
    ep.recorded = deps.status.setRecovery(
      agentId,
      'in_progress',
      'recovery_attempt',
      {
        attempt: n, max_attempts: policy.max_retries, trigger: ep.trigger, action, delay_s: round(delayS), scheduled_for: at.toISOString(), failure: ep.failure,
        ...(previousError ? { previous_error: previousError } : {}), ...(ep.rollback && n === 1 ? { rollback: { to_version: ep.rollback.to, why: ep.rollback.why } } : {}),
      },
      n === 1
        ? { type: 'recovery.started', agent_id: agentId, attempt: n, max_attempts: policy.max_retries, trigger: ep.trigger, action, next_attempt_at: at.toISOString(), details: { failure: ep.failure } }
        : undefined,
    ).catch((err) => deps.logger.warn({ agentId, err: (err as Error).message }, 'recording a recovery attempt failed'));
  }

  async function runAttempt(agentId: string, ep: Episode, n: number, delayS: number): Promise<void> {
    if (!live(agentId, ep) || ep.scheduled?.number !== n) return;
    const policy = await deps.policyOf(agentId);
    const action: RecoveryAction = ep.rollback && n === 1 ? 'config_rollback' : actionForAttempt(ep.trigger, n);
    const startedAt = now();
    const details = { max_attempts: policy.max_retries, delay_s: round(delayS), failure: ep.failure, ...(action === 'config_rollback' && ep.rollback ? { rollback: ep.rollback } : {}) };
    const key = deps.attempts.insert({
      agent_id: agentId, attempt_number: n, recovery_strategy: action, trigger: ep.trigger, started_at: new Date(startedAt), episode_started_at: ep.startedAt, details,
    });
    if (!live(agentId, ep)) {
      deps.attempts.finish(key, agentId, 'cancelled', 'cancelled before it ran');
      return;
    }
    // `scheduled` is cleared only now, so that the attempt never looks idle while it starts.
    ep.scheduled = undefined;
    ep.attempts = n;
    const current: CurrentAttempt = { key, number: n, action, startedAt };
    ep.current = current;
    current.timer = setTimeout(
      () => void serial(agentId, () => failAttempt(agentId, ep, current, `no healthy agent within recovery_timeout (${policy.recovery_timeout} s)`)),
      policy.recovery_timeout * 1000,
    );
    current.timer.unref();
    const cause = { cause: 'recovery' as const, attempt: n, max_attempts: policy.max_retries, trigger: ep.trigger, action };
    try {
      if (action === 'dependency_reconnect') await deps.actions.reconnect(agentId, policy.recovery_timeout * 1000);
      else if (action === 'config_rollback' && ep.rollback) await deps.run(agentId, () => deps.actions.rollback(agentId, ep.rollback!, cause));
      else await deps.run(agentId, () => deps.actions.restart(agentId, cause));
    } catch (err) {
      if (ep.current === current) await failAttempt(agentId, ep, current, (err as Error).message);
      return;
    }
    if (ep.current === current && deps.healthyNow(agentId)) await succeed(agentId, ep, current);
  }

  async function succeed(agentId: string, ep: Episode, current: CurrentAttempt): Promise<void> {
    if (ep.current !== current || !live(agentId, ep)) return;
    clearTimeout(current.timer);
    ep.current = undefined;
    const t = now();
    const duration = round((t - current.startedAt) / 1000);
    const ttr = round((t - ep.startedAt.getTime()) / 1000);
    deps.attempts.finish(current.key, agentId, 'succeeded', null, { duration_s: duration, time_to_recover_s: ttr });
    const policy = await deps.policyOf(agentId);
    await deps.status.setRecovery(
      agentId,
      'success',
      'recovery_succeeded',
      { attempt: current.number, max_attempts: policy.max_retries, trigger: ep.trigger, action: current.action, duration_s: duration, time_to_recover_s: ttr },
      { type: 'recovery.succeeded', agent_id: agentId, attempt: current.number, max_attempts: policy.max_retries, trigger: ep.trigger, action: current.action, details: { time_to_recover_s: ttr } },
    );
  }

  async function failAttempt(agentId: string, ep: Episode, current: CurrentAttempt, error: string): Promise<void> {
    if (ep.current !== current) return;
    clearTimeout(current.timer);
    ep.current = undefined;
    ep.failed += 1;
    ep.lastError = error;
    deps.attempts.finish(current.key, agentId, 'failed', error);
    if (!live(agentId, ep)) return;
    const policy = await deps.policyOf(agentId);
    const exhausted = nextAttemptNumber(policy, { attempts: ep.attempts }) === undefined;
    if (exhausted) return giveUp(agentId, ep, policy, error);
    if (shouldEscalate(policy, ep.failed, false, ep.escalated)) await escalate(agentId, ep, policy, error);
    await schedule(agentId, ep, policy, error);
  }

  async function giveUp(agentId: string, ep: Episode, policy: RecoveryPolicy, error: string): Promise<void> {
    ep.exhausted = true;
    ep.scheduled = undefined;
    try {
      await deps.run(agentId, () => deps.actions.giveUp(agentId, `recovery failed after ${ep.attempts} of ${policy.max_retries} attempts: ${error}`));
    } catch (err) {
      deps.logger.warn({ agentId, err: (err as Error).message }, 'could not mark the agent failed after its last recovery attempt');
    }
    await deps.status.setRecovery(
      agentId,
      'failed',
      'recovery_failed',
      { attempts: ep.attempts, max_attempts: policy.max_retries, failed_attempts: ep.failed, trigger: ep.trigger, last_error: error },
      { type: 'recovery.failed', agent_id: agentId, attempt: ep.attempts, max_attempts: policy.max_retries, trigger: ep.trigger, error },
    );
    if (shouldEscalate(policy, ep.failed, true, ep.escalated)) await escalate(agentId, ep, policy, error);
  }

  async function escalate(agentId: string, ep: Episode, policy: RecoveryPolicy, error: string): Promise<void> {
    ep.escalated = true;
    const details = {
      failed_attempts: ep.failed, attempts: ep.attempts, max_attempts: policy.max_retries, escalation_threshold: policy.escalation_threshold,
      notification_channels: policy.notification_channels, trigger: ep.trigger, last_error: error, episode_started_at: ep.startedAt.toISOString(),
    };
    await deps.status.note(agentId, 'recovery_escalated', details, {
      statuses: 'recovery',
      busEvent: { type: 'recovery.escalated', agent_id: agentId, attempt: ep.attempts, max_attempts: policy.max_retries, trigger: ep.trigger, error, details },
    });
  }

  function cancel(agentId: string, reason: string): void {
    clearStable(agentId);
    const ep = episodes.get(agentId);
    if (!ep || ep.cancelled) return;
    ep.cancelled = true;
    episodes.delete(agentId);
    if (ep.scheduled) clearTimeout(ep.scheduled.timer);
    const current = ep.current;
    if (current) clearTimeout(current.timer);
    const wasActive = Boolean(ep.scheduled || current);
    ep.scheduled = undefined;
    ep.current = undefined;
    if (!wasActive) return;
    void serial(agentId, async () => {
      if (current) deps.attempts.finish(current.key, agentId, 'cancelled', reason);
      await deps.status.setRecovery(agentId, 'none', 'recovery_cancelled', { reason, attempts: ep.attempts, trigger: ep.trigger });
    });
  }

  function clearStable(agentId: string): void {
    clearTimeout(stableTimers.get(agentId));
    stableTimers.delete(agentId);
  }

  return {
    /**
     * A failure of the agent. Fails the attempt in progress (its action did not hold), or
     * opens an episode (running the crash-loop guard first) and schedules its first attempt.
     */
    onFailure(agentId: string, trigger: Exclude<RecoveryTrigger, 'manual' | 'config_crash_loop'>, failure: Record<string, unknown>): Promise<void> {
      clearStable(agentId);
      if (stopped) return Promise.resolve();
      return serial(agentId, async () => {
        const ep = episodes.get(agentId);
        if (ep?.current) return failAttempt(agentId, ep, ep.current, describeFailure(trigger, failure));
        if (ep?.scheduled || ep?.pending) return;
        const policy = await deps.policyOf(agentId);
        if (!policy.auto_recovery) return;
        if (ep && !ep.exhausted && !ep.cancelled) {
          // Failing again before the agent was stable: the same episode, the next attempt.
          ep.failure = { trigger, ...failure };
          return schedule(agentId, ep, policy);
        }
        const next: Episode = { startedAt: new Date(now()), trigger, failure: { trigger, ...failure }, attempts: 0, failed: 0, escalated: false, exhausted: false, cancelled: false, pending: true };
        if (trigger === 'process_exit' || trigger === 'health_critical' || trigger === 'resource_exhaustion') {
          const decision = await deps.guard(agentId, policy);
          if (decision.rollback) {
            next.rollback = decision;
            next.trigger = 'config_crash_loop';
          }
        }
        episodes.set(agentId, next);
        return schedule(agentId, next, policy);
      });
    },

    /** POST .../recovery: a new episode whose first attempt (a restart) runs at once. */
    manual(agentId: string, requestedBy: Record<string, unknown>): Promise<void> {
      const ep = episodes.get(agentId);
      if (ep && !ep.cancelled && (ep.current || ep.scheduled || ep.pending)) return Promise.reject(Object.assign(new Error('in progress'), { inProgress: ep.current ? 'running' : 'scheduled' }));
      clearStable(agentId);
      const next: Episode = { startedAt: new Date(now()), trigger: 'manual', failure: { trigger: 'manual', ...requestedBy }, attempts: 0, failed: 0, escalated: false, exhausted: false, cancelled: false, pending: true };
      episodes.set(agentId, next);
      return serial(agentId, async () => {
        const policy = { ...(await deps.policyOf(agentId)), retry_delay: 0 };
        // A manual request must not wait out a backoff; its budget is the policy's.
        await schedule(agentId, next, policy.max_retries > 0 ? policy : { ...policy, max_retries: 1 });
        // The answer to the request shows the recovery in progress.
        await next.recorded;
      });
    },

    /** Health came back (healthy, process running): the attempt in progress succeeded; start the stability clock. */
    onHealthy(agentId: string, opts: { stableBaselineMs: number; policy: RecoveryPolicy }): void {
      const ep = episodes.get(agentId);
      if (ep?.current) void serial(agentId, () => succeed(agentId, ep, ep.current!));
      if (stableTimers.has(agentId)) return;
      const wait = Math.max(0, opts.stableBaselineMs + opts.policy.stable_after * 1000 - now());
      const timer = setTimeout(() => {
        stableTimers.delete(agentId);
        void serial(agentId, async () => {
          const e = episodes.get(agentId);
          if (e && !e.current && !e.scheduled && !e.pending) episodes.delete(agentId);
          deps.onStable(agentId);
        });
      }, wait);
      timer.unref();
      stableTimers.set(agentId, timer);
    },

    /** Not healthy any more (or the config changed): the stability clock starts over. */
    onUnhealthy: clearStable,

    /** An operator took over (start/stop/restart), the agent went away, or the AMS stops: drop the episode. */
    cancel,

    /** The policy changed: turning auto_recovery off drops a scheduled attempt. */
    policyChanged(agentId: string, policy: RecoveryPolicy): void {
      const ep = episodes.get(agentId);
      if (ep?.scheduled && !policy.auto_recovery && ep.trigger !== 'manual') cancel(agentId, 'auto_recovery was turned off');
    },

    /** The episode as the control plane records it with each recovery change. */
    wireState(agentId: string): RecoveryStateWire {
      const ep = episodes.get(agentId);
      return {
        in_progress: Boolean(ep && (ep.current || ep.scheduled || ep.pending)),
        attempts_made: ep?.attempts ?? 0,
        next_attempt_at: ep?.scheduled?.at.toISOString() ?? null,
        exhausted: ep?.exhausted ?? false,
        episode_started_at: ep?.startedAt.toISOString() ?? null,
        trigger: ep?.trigger ?? null,
      };
    },

    state(agentId: string, policy: RecoveryPolicy): RecoveryState & { remaining: number } {
      const ep = episodes.get(agentId);
      return {
        in_progress: Boolean(ep && (ep.current || ep.scheduled || ep.pending)),
        attempts_made: ep?.attempts ?? 0,
        next_attempt_at: ep?.scheduled?.at.toISOString() ?? null,
        exhausted: ep?.exhausted ?? false,
        episode_started_at: ep?.startedAt.toISOString() ?? null,
        trigger: ep?.trigger ?? null,
        remaining: ep ? remainingAttempts(policy, ep.attempts) : policy.max_retries,
      };
    },

    /** Waits for the queued episode changes of one agent, or of every agent (tests and shutdown). */
    async settle(agentId?: string): Promise<void> {
      await (agentId ? chains.get(agentId) : Promise.all([...chains.values()]));
    },

    stop(): void {
      stopped = true;
      for (const id of [...episodes.keys()]) cancel(id, 'the AMS is stopping');
      for (const t of stableTimers.values()) clearTimeout(t);
      stableTimers.clear();
    },
  };
}

function describeFailure(trigger: RecoveryTrigger, failure: Record<string, unknown>): string {
  switch (trigger) {
    case 'process_exit':
      return `the process exited again (${failure.signal ? `signal ${String(failure.signal)}` : `code ${String(failure.exit_code)}`})`;
    case 'dependency_failure':
      return 'the broker connection failed again';
    case 'resource_exhaustion':
      return 'resources exhausted again';
    default:
      return 'the agent went critical again';
  }
}


const round = (n: number) => Math.round(n * 1000) / 1000;
