// The fleet's counts by process and health status over a time range (the console's fleet
// overview): today's counts, walked back through every transition since the range's start,
// read at the end of each bucket. Deleted agents are gone from the history with their rows.
import type { Database } from '../db/database.js';
import { stateCountsRepo, type TransitionRow } from '../db/state-counts.repo.js';
import { ValidationFailed } from '../errors.js';
import { type RawWindowQuery, resolveWindow } from '../domain/metric-series.js';

export const PROCESS_STATES = ['discovered', 'registered', 'starting', 'running', 'stopping', 'stopped', 'failed', 'degraded'] as const;
export const HEALTH_STATES = ['healthy', 'warning', 'critical', 'unknown'] as const;

export interface StateCountsAnswer {
  from: string;
  to: string;
  /** Seconds. */
  step: number;
  /** Bucket start times, epoch ms. */
  t: number[];
  /** Agents in each process status at the end of each bucket. */
  process: Record<string, number[]>;
  /** Agents in each health status at the end of each bucket. */
  health: Record<string, number[]>;
}

type Counts = Map<string, number>;

const bump = (m: Counts, key: string | null, by: number) => {
  if (key !== null) m.set(key, (m.get(key) ?? 0) + by);
};

/**
 * Pure: given today's counts and the transitions since `fromMs` (newest first), the counts at
 * the end of each bucket `t[i] + stepMs` (at most `toMs`, at most `nowMs`).
 */
export function countsOverTime(opts: {
  current: { process: Counts; health: Counts };
  transitions: TransitionRow[];
  t: number[];
  stepMs: number;
  toMs: number;
  nowMs: number;
}): { process: Record<string, number[]>; health: Record<string, number[]> } {
  const process = new Map(opts.current.process);
  const health = new Map(opts.current.health);
  const n = opts.t.length;
  const outP: Record<string, number[]> = Object.fromEntries(PROCESS_STATES.map((s) => [s, new Array<number>(n).fill(0)]));
  const outH: Record<string, number[]> = Object.fromEntries(HEALTH_STATES.map((s) => [s, new Array<number>(n).fill(0)]));
  let next = 0;
  for (let i = n - 1; i >= 0; i--) {
    const end = Math.min(opts.t[i] + opts.stepMs, opts.toMs, opts.nowMs);
    // Undo every transition after this bucket's end: before it, the agent was in from_status.
    while (next < opts.transitions.length && opts.transitions[next].at > end) {
      const r = opts.transitions[next++];
      const m = r.kind === 'process' ? process : health;
      bump(m, r.to_status, -1);
      bump(m, r.from_status, 1);
      // Before its first row the agent did not exist: it leaves the health counts too (it was unknown until its first health change).
      if (r.kind === 'process' && r.from_status === null) bump(health, 'unknown', -1);
    }
    for (const s of PROCESS_STATES) outP[s][i] = Math.max(0, process.get(s) ?? 0);
    for (const s of HEALTH_STATES) outH[s][i] = Math.max(0, health.get(s) ?? 0);
  }
  return { process: outP, health: outH };
}

export type StateCountsService = ReturnType<typeof createStateCountsService>;

export function createStateCountsService({ db, now = () => Date.now() }: { db: Database; now?: () => number }) {
  return {
    async series(query: RawWindowQuery): Promise<StateCountsAnswer> {
      const nowMs = now();
      const { window: w, issues } = resolveWindow(query, nowMs);
      if (!w) throw new ValidationFailed(issues);
      const repo = stateCountsRepo(db.knex);
      const [rows, transitions] = await Promise.all([repo.current(), repo.since(new Date(w.t[0]))]);
      const current = { process: new Map<string, number>(), health: new Map<string, number>() };
      for (const r of rows) {
        bump(current.process, r.process_status, r.n);
        bump(current.health, r.health_status, r.n);
      }
      const counts = countsOverTime({ current, transitions, t: w.t, stepMs: w.stepMs, toMs: w.toMs, nowMs });
      return { from: new Date(w.fromMs).toISOString(), to: new Date(w.toMs).toISOString(), step: w.stepMs / 1000, t: w.t, ...counts };
    },
  };
}
