// Recovery policy (seed §6.4, DESIGN.md) as data, and the pure functions that compute the
// next delay, the action of each attempt, escalation and the stability reset. The recovery
// engine only executes them.
import { backoffDelay } from './backoff.js';

export interface RecoveryPolicy {
  auto_recovery: boolean;
  /** Attempts before the agent is declared failed. */
  max_retries: number;
  /** Seconds before the first attempt (fractions allowed). */
  retry_delay: number;
  backoff_factor: number;
  /** Upper bound of any delay, seconds. */
  max_backoff: number;
  /** Seconds an attempt has to produce a healthy agent. */
  recovery_timeout: number;
  /** Failed attempts after which an alert is escalated to the notification channels. */
  escalation_threshold: number;
  /** 0 to 0.25: each delay is spread by up to this fraction either way. */
  jitter: number;
  /** Seconds of health after which the attempt counter resets (and the config version counts as good). */
  stable_after: number;
  notification_channels: string[];
}

export const DEFAULT_RECOVERY_POLICY: RecoveryPolicy = {
  auto_recovery: true,
  max_retries: 3,
  retry_delay: 5,
  backoff_factor: 2,
  max_backoff: 300,
  recovery_timeout: 60,
  escalation_threshold: 3,
  jitter: 0,
  stable_after: 60,
  notification_channels: [],
};

/** Bounds of each numeric field (inclusive); `int` fields take whole numbers only. */
export const POLICY_LIMITS = {
  max_retries: { min: 0, max: 1000, int: true },
  retry_delay: { min: 0, max: 86_400 },
  backoff_factor: { min: 1, max: 10 },
  max_backoff: { min: 0, max: 86_400 },
  recovery_timeout: { min: 0.05, max: 86_400 },
  escalation_threshold: { min: 1, max: 1000, int: true },
  jitter: { min: 0, max: 0.25 },
  stable_after: { min: 0, max: 86_400 },
} as const satisfies Partial<Record<keyof RecoveryPolicy, { min: number; max: number; int?: boolean }>>;

/**
 * Delay in seconds before attempt `n` (1-based): min(retry_delay × backoff_factor^(n-1),
 * max_backoff), spread by the jitter; `random` in [0, 1).
 */
export function nextRecoveryDelay(policy: RecoveryPolicy, attempt: number, random: number = Math.random()): number {
  return backoffDelay({ initial: policy.retry_delay, factor: policy.backoff_factor, max: policy.max_backoff, jitter: policy.jitter }, attempt, random);
}

export const RECOVERY_TRIGGERS = ['process_exit', 'health_critical', 'resource_exhaustion', 'dependency_failure', 'manual', 'config_crash_loop'] as const;
export type RecoveryTrigger = (typeof RECOVERY_TRIGGERS)[number];
export const RECOVERY_ACTIONS = ['restart', 'config_reload', 'dependency_reconnect', 'config_rollback'] as const;
export type RecoveryAction = (typeof RECOVERY_ACTIONS)[number];

/** The action a trigger calls for first. */
export function actionFor(trigger: RecoveryTrigger): RecoveryAction {
  switch (trigger) {
    case 'dependency_failure':
      return 'dependency_reconnect';
    case 'config_crash_loop':
      return 'config_rollback';
    default:
      return 'restart';
  }
}

/**
 * The action of attempt `n` of an episode: the trigger's own action first; when that did not
 * help (a reconnection that brought no heartbeat, a rollback that still fails), a restart.
 */
export function actionForAttempt(trigger: RecoveryTrigger, attempt: number): RecoveryAction {
  return attempt <= 1 ? actionFor(trigger) : 'restart';
}

export interface AttemptBudget {
  /** Attempts made in the current episode. */
  attempts: number;
}

/** The attempt number the next recovery would be, or undefined when the budget is spent. */
export function nextAttemptNumber(policy: RecoveryPolicy, budget: AttemptBudget): number | undefined {
  const n = budget.attempts + 1;
  return n <= policy.max_retries ? n : undefined;
}

/** Attempts left in the episode. */
export function remainingAttempts(policy: RecoveryPolicy, attempts: number): number {
  return Math.max(0, policy.max_retries - attempts);
}

/** Whether the agent has been healthy long enough for its attempt counter to reset. */
export function isStable(policy: RecoveryPolicy, healthySinceMs: number | undefined, nowMs: number): boolean {
  return healthySinceMs !== undefined && nowMs - healthySinceMs >= policy.stable_after * 1000;
}

/**
 * Whether to escalate now: once per episode, when the failed attempts reach the escalation
 * threshold (capped at the budget, so a threshold above max_retries still escalates at the
 * end), or when the budget is spent without any attempt (max_retries 0).
 */
export function shouldEscalate(policy: RecoveryPolicy, failedAttempts: number, exhausted: boolean, alreadyEscalated: boolean): boolean {
  if (alreadyEscalated) return false;
  return failedAttempts >= Math.min(policy.escalation_threshold, Math.max(1, policy.max_retries)) || exhausted;
}
