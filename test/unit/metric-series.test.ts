// The metric series rules: steps, instants, aligned buckets, the automatic step and the bounds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTO_POINTS, MAX_POINTS, MAX_RANGE_MS, autoStep, bucketCount, parseInstant, parseNames, parseStep, resolveWindow } from '../../server/domain/metric-series.js';

describe('metric series rules', () => {
  it('parse steps in seconds or with a unit, and refuse the rest', () => {
    expect(['10', '0.5', '500ms', '10s', '5m', '1h', '1d'].map(parseStep)).toEqual([10_000, 500, 500, 10_000, 300_000, 3_600_000, 86_400_000]);
    expect(['', 'abc', '-1', '0', '0ms', '1w', '1e3'].map(parseStep)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('parse instants as ISO 8601 with a zone or epoch ms', () => {
    expect(parseInstant('2026-11-24T10:00:00Z')).toBe(Date.UTC(2026, 10, 24, 10));
    expect(parseInstant('2026-11-24T12:00:00.500+02:00')).toBe(Date.UTC(2026, 10, 24, 10, 0, 0, 500));
    expect(parseInstant('1700000000000')).toBe(1_700_000_000_000);
    expect(parseInstant('2026-11-24T10:00:00')).toBeUndefined();
    expect(parseInstant('yesterday')).toBeUndefined();
  });

  it('align buckets to multiples of the step', () => {
    const r = resolveWindow({ from: '125000', to: '245000', step: '60' }, 0);
    expect(r.issues).toEqual([]);
    expect(r.window!.t).toEqual([120_000, 180_000, 240_000]);
    expect(bucketCount(120_000, 240_000, 60_000)).toBe(2);
  });

  it('choose a round step giving at most AUTO_POINTS buckets, and never answer more than MAX_POINTS', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 1, max: MAX_RANGE_MS }), fc.option(fc.integer({ min: 1, max: 10_000_000 })), (from, len, step) => {
        const r = resolveWindow({ from: String(from), to: String(from + len), step: step === null ? undefined : `${step}ms` }, 0);
        if (step === null) {
          expect(r.window!.t.length).toBeLessThanOrEqual(AUTO_POINTS);
          expect(r.window!.stepMs).toBe(autoStep(from, from + len));
        }
        if (r.window) expect(r.window.t.length).toBeLessThanOrEqual(MAX_POINTS);
        else expect(r.issues.map((i) => i.path)).toEqual(['step']);
      }),
    );
  });

  it('refuse reversed, empty and too long ranges, naming the field', () => {
    expect(resolveWindow({ from: '2000', to: '1000' }, 0).issues).toMatchObject([{ path: 'from', reason: 'must be before to' }]);
    expect(resolveWindow({ from: '1000', to: '1000' }, 0).issues[0].path).toBe('from');
    expect(resolveWindow({ from: '0', to: String(MAX_RANGE_MS + 1) }, 0).issues[0].reason).toContain('31 days');
    const both = resolveWindow({ from: 'x', to: 'y', step: 'z' }, 0).issues.map((i) => i.path);
    expect(both.sort()).toEqual(['from', 'step', 'to']);
  });

  it('split and check names', () => {
    expect(parseNames(['cpu_percent,memory_mb', 'cpu_percent'])).toEqual({ names: ['cpu_percent', 'memory_mb'], issues: [] });
    expect(parseNames(['Bad!']).issues[0]).toMatchObject({ path: 'names', in: 'query' });
    expect(parseNames(['cpu'], ['cpu_percent_avg']).issues[0].reason).toContain('cpu_percent_avg');
    expect(parseNames([',']).issues[0].reason).toContain('at least one');
    expect(parseNames(['t,step']).issues.map((i) => i.reason)).toEqual(['"t" is a key of the answer, not a metric', '"step" is a key of the answer, not a metric']);
  });
});
