// Rollup planning rules: which levels fit a step, dirty minutes merged into stretches, and a
// range split into segments that tile it exactly, each rollup segment whole buckets of its
// level, rolled up already and free of dirty minutes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dirtyStretches, LEVEL_MS, type LevelState, levelsForStep, planSegments } from '../../server/domain/metric-rollups.js';

const M = 60_000;
const H = 3_600_000;
const T = Date.UTC(2026, 10, 24, 10);

describe('rollup planning', () => {
  it('uses the levels whose buckets divide the step, coarsest first, once they have run', () => {
    const states: LevelState[] = [
      { level: '1m', rolledUntilMs: T },
      { level: '5m', rolledUntilMs: T },
      { level: '1h', rolledUntilMs: null },
    ];
    expect(levelsForStep(15 * M, states).map((s) => s.level)).toEqual(['5m', '1m']);
    expect(levelsForStep(2 * M, states).map((s) => s.level)).toEqual(['1m']);
    expect(levelsForStep(2 * H, states).map((s) => s.level)).toEqual(['5m', '1m']);
    expect(levelsForStep(30_000, states)).toEqual([]);
    expect(levelsForStep(604_800, states)).toEqual([]);
  });

  it('merges dirty minutes into stretches, and too many into one', () => {
    expect(dirtyStretches([T + 2 * M, T, T + M, T + 10 * M])).toEqual([[T, T + 3 * M], [T + 10 * M, T + 11 * M]]);
    expect(dirtyStretches(Array.from({ length: 40 }, (_, i) => T + 2 * i * M))).toEqual([[T, T + 79 * M]]);
  });

  it('reads the coarse core from its rollup, finer levels around it and raw samples at the edges and after the watermark', () => {
    const levels: LevelState[] = [
      { level: '5m', rolledUntilMs: T + 20 * M },
      { level: '1m', rolledUntilMs: T + 23 * M },
    ];
    expect(planSegments(T - 7 * M - 30_000, T + 30 * M, levels)).toEqual([
      { source: 'raw', fromMs: T - 7 * M - 30_000, toMs: T - 7 * M },
      { source: '1m', fromMs: T - 7 * M, toMs: T - 5 * M },
      { source: '5m', fromMs: T - 5 * M, toMs: T + 20 * M },
      { source: '1m', fromMs: T + 20 * M, toMs: T + 23 * M },
      { source: 'raw', fromMs: T + 23 * M, toMs: T + 30 * M },
    ]);
    // A dirty minute inside the 5-minute core: its 5-minute bucket from the minutes, the minute itself raw.
    expect(planSegments(T, T + 20 * M, levels, dirtyStretches([T + 6 * M]))).toEqual([
      { source: '5m', fromMs: T, toMs: T + 5 * M },
      { source: '1m', fromMs: T + 5 * M, toMs: T + 6 * M },
      { source: 'raw', fromMs: T + 6 * M, toMs: T + 7 * M },
      { source: '1m', fromMs: T + 7 * M, toMs: T + 10 * M },
      { source: '5m', fromMs: T + 10 * M, toMs: T + 20 * M },
    ]);
    expect(planSegments(T, T + H, [])).toEqual([{ source: 'raw', fromMs: T, toMs: T + H }]);
  });

  it('tiles any range exactly with whole, rolled-up, clean buckets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 * H }),
        fc.integer({ min: 1, max: 10 * H }),
        fc.integer({ min: 0, max: 12 * H }),
        fc.integer({ min: 0, max: 12 * H }),
        fc.integer({ min: 0, max: 12 * H }),
        fc.array(fc.integer({ min: 0, max: 12 * 60 }), { maxLength: 30 }),
        (from, len, r1m, r5m, r1h, dirtyMinutes) => {
          const levels: LevelState[] = [
            { level: '1h', rolledUntilMs: T + r1h },
            { level: '5m', rolledUntilMs: T + r5m },
            { level: '1m', rolledUntilMs: T + r1m },
          ];
          const dirty = dirtyStretches(dirtyMinutes.map((m) => T + m * M));
          const segments = planSegments(T + from, T + from + len, levels, dirty);
          let cursor = T + from;
          for (const s of segments) {
            expect(s.fromMs).toBe(cursor);
            expect(s.toMs).toBeGreaterThan(s.fromMs);
            cursor = s.toMs;
            if (s.source === 'raw') continue;
            const ms = LEVEL_MS[s.source];
            expect(s.fromMs % ms).toBe(0);
            expect(s.toMs % ms).toBe(0);
            expect(s.toMs).toBeLessThanOrEqual(levels.find((l) => l.level === s.source)!.rolledUntilMs!);
            for (const [a, b] of dirty) expect(b <= s.fromMs || a >= s.toMs).toBe(true);
          }
          expect(cursor).toBe(T + from + len);
        },
      ),
    );
  });
});
