// When host mode restarts a bundled AMS that died: policy as data, delays from a pure function.

export interface RestartPolicy {
  /** Delay before the first restart. */
  initialDelayMs: number;
  /** Each further consecutive restart waits this many times longer... */
  factor: number;
  /** ...up to this much. */
  maxDelayMs: number;
  /** Consecutive failed starts or crashes after which the launcher gives up (status `failed`). */
  maxAttempts: number;
  /** Once the AMS has stayed up this long, the attempt counter starts again from zero. */
  stableAfterMs: number;
  /** A start that has not printed its ready message by then counts as a failure. */
  readyTimeoutMs: number;
  /** How long a graceful stop may take before the process is killed. */
  stopTimeoutMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({
  initialDelayMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  maxAttempts: 8,
  stableAfterMs: 60_000,
  readyTimeoutMs: 60_000,
  stopTimeoutMs: 12_000,
});

/** Delay before restart number `attempt` (1-based): initial × factor^(attempt-1), capped. */
export function nextRestartDelay(attempt: number, policy: Pick<RestartPolicy, 'initialDelayMs' | 'factor' | 'maxDelayMs'> = DEFAULT_RESTART_POLICY): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const raw = policy.initialDelayMs * Math.pow(policy.factor, attempt - 1);
  return Math.min(Math.round(raw), policy.maxDelayMs);
}
