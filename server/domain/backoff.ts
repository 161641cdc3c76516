// The one backoff function: the delay before attempt n grows by `factor` from `initial` up to
// `max`, optionally spread by a jitter fraction. Recovery attempts, nats-server restarts and the
// supervisor's retries of control-plane requests all compute their waits with it.

export interface Backoff {
  initial: number;
  factor: number;
  max: number;
  /** 0 to 1: each delay is spread by up to this fraction either way (never past `max`). */
  jitter?: number;
}

/** Delay before attempt `attempt` (1-based): min(initial × factor^(attempt-1), max), jittered; `random` in [0, 1). */
export function backoffDelay(b: Backoff, attempt: number, random: number = Math.random()): number {
  const n = Math.max(1, Math.floor(attempt));
  const base = Math.min(b.initial * b.factor ** (n - 1), b.max);
  const spread = base * (b.jitter ?? 0) * (2 * random - 1);
  return Math.max(0, Math.min(base + spread, b.max));
}
