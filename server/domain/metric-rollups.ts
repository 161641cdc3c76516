// Rollup rules as pure functions: the resolutions kept (1 minute, 5 minutes, 1 hour), which of
// them can answer a step, and how a time range splits into segments read from the coarsest
// rollup that covers them, finer ones around it, and the raw samples at the edges, in minutes
// marked dirty and after the newest rolled-up bucket.

export const ROLLUP_LEVELS = [
  { level: '1m', ms: 60_000 },
  { level: '5m', ms: 300_000 },
  { level: '1h', ms: 3_600_000 },
] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number]['level'];

export const LEVEL_MS: Readonly<Record<RollupLevel, number>> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000 };

/** Where a segment's samples are read from: the raw tables or one rollup table. */
export type SegmentSource = 'raw' | RollupLevel;

/** A half-open time range [fromMs, toMs) and where it is read from. */
export interface Segment {
  source: SegmentSource;
  fromMs: number;
  toMs: number;
}

export interface LevelState {
  level: RollupLevel;
  /** Every bucket before this is rolled up; null before the first run. */
  rolledUntilMs: number | null;
}

/** More dirty stretches than this in one query are read raw as one stretch (the job clears them soon). */
const MAX_HOLES = 16;

const ceilTo = (t: number, ms: number) => Math.ceil(t / ms) * ms;
const floorTo = (t: number, ms: number) => Math.floor(t / ms) * ms;

/**
 * The levels that can answer a step, coarsest first: a rollup bucket must lie inside one step
 * bucket (steps and buckets are both aligned to the epoch), so its width must divide the step.
 */
export function levelsForStep(stepMs: number, states: readonly LevelState[]): LevelState[] {
  return [...states].filter((s) => stepMs % LEVEL_MS[s.level] === 0 && s.rolledUntilMs !== null).sort((a, b) => LEVEL_MS[b.level] - LEVEL_MS[a.level]);
}

/** Dirty minutes (epoch ms, any order) as sorted, merged [from, to) stretches; too many become one. */
export function dirtyStretches(minutesMs: readonly number[]): Array<[number, number]> {
  const sorted = [...new Set(minutesMs)].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const m of sorted) {
    const last = out[out.length - 1];
    if (last && last[1] === m) last[1] = m + 60_000;
    else out.push([m, m + 60_000]);
  }
  return out.length > MAX_HOLES ? [[out[0][0], out[out.length - 1][1]]] : out;
}

/**
 * Splits [fromMs, toMs) into segments: each level (coarsest first) covers the whole buckets it
 * has rolled up that hold no dirty minute, and what is left around them goes to the next finer
 * level, and in the end to the raw samples. Adjacent segments of one source are merged.
 */
export function planSegments(fromMs: number, toMs: number, levels: readonly LevelState[], dirty: ReadonlyArray<[number, number]> = []): Segment[] {
  const out: Segment[] = [];
  const push = (s: Segment) => {
    if (s.fromMs >= s.toMs) return;
    const last = out[out.length - 1];
    if (last && last.source === s.source && last.toMs === s.fromMs) last.toMs = s.toMs;
    else out.push({ ...s });
  };
  const plan = (lo: number, hi: number, i: number): void => {
    if (lo >= hi) return;
    const state = levels[i];
    if (!state || state.rolledUntilMs === null) return push({ source: 'raw', fromMs: lo, toMs: hi });
    const ms = LEVEL_MS[state.level];
    const end = Math.min(floorTo(hi, ms), floorTo(state.rolledUntilMs, ms));
    let cursor = ceilTo(lo, ms);
    if (cursor >= end) return plan(lo, hi, i + 1);
    plan(lo, cursor, i + 1);
    // Whole buckets of this level, except those touching a dirty stretch.
    for (const [dFrom, dTo] of dirty) {
      const holeFrom = Math.max(floorTo(dFrom, ms), cursor);
      const holeTo = Math.min(ceilTo(dTo, ms), end);
      if (holeTo <= cursor || holeFrom >= end) continue;
      push({ source: state.level, fromMs: cursor, toMs: holeFrom });
      plan(holeFrom, holeTo, i + 1);
      cursor = holeTo;
    }
    push({ source: state.level, fromMs: cursor, toMs: end });
    plan(end, hi, i + 1);
  };
  plan(fromMs, toMs, 0);
  return out;
}
