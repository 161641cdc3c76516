// The bundled AMS's restart delays: exponential from the initial delay, capped, never shrinking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, nextRestartDelay } from '../../src-main/host/restart-policy.js';

describe('nextRestartDelay', () => {
  it('doubles from the initial delay up to the cap with the default policy', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => nextRestartDelay(n))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('follows initial × factor^(attempt-1), never above the cap and never decreasing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 1, max: 5, noNaN: true }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 60 }),
        (initialDelayMs, factor, maxDelayMs, attempt) => {
          const policy = { initialDelayMs, factor, maxDelayMs };
          const d = nextRestartDelay(attempt, policy);
          expect(d).toBeLessThanOrEqual(maxDelayMs);
          expect(d).toBe(Math.min(Math.round(initialDelayMs * factor ** (attempt - 1)), maxDelayMs));
          expect(nextRestartDelay(attempt + 1, policy)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });

  it('refuses attempts that are not positive integers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => nextRestartDelay(bad, DEFAULT_RESTART_POLICY)).toThrow(RangeError);
  });
});
