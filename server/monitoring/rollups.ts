// The rollup job: keeps 1-minute, 5-minute and 1-hour aggregates of every raw sample (count, sum,
// min, max, and the increase with the seconds it covers), so that a series over any range reads a
// few thousand rows instead of every sample. Every `intervalMs` it
//   1. redoes the minutes marked dirty by samples inserted after their minute was rolled up (and
//      the 5-minute and hour buckets holding them);
//   2. rolls raw samples up to `graceMs` before the database's clock into 1-minute buckets, from
//      its watermark on, in chunks sized to take about a quarter second;
//   3. rolls complete 1-minute buckets into 5-minute ones and those into hours.
// Each chunk is one transaction that writes its buckets (idempotent upserts: a chunk done twice
// gives the same rows) and moves the level's watermark, so a kill between two writes loses
// nothing, and a restart after downtime carries on from the watermark. Across replicas it runs
// under a PostgreSQL advisory lock (one replica at a time); PGlite has one process.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { withAdvisoryLock } from '../db/advisory-lock.js';
import { SINGLETON_KEYS } from '../db/singleton-lock.js';
import { inRollupTransaction, metricRollupsRepo } from '../db/metric-rollups.repo.js';
import { LEVEL_MS, type RollupLevel } from '../domain/metric-rollups.js';
import { periodicJob } from '../util/periodic-job.js';

/** pg_advisory_lock key of the rollup job ("opm" + 7; the singletons' keys are together in singleton-lock.ts). */
export const ROLLUP_LOCK_KEY = SINGLETON_KEYS.metricRollups;

export interface RollupDeps {
  db: Database;
  logger: Logger;
  /** Days of raw samples kept: a dirty minute older than that cannot be redone from them. */
  rawRetentionDays: number;
  /** Between runs; default 30 s. The first run is right after start. */
  intervalMs?: number;
  /** How far behind the database's clock the 1-minute level stays, for samples written late; default 60 s. */
  graceMs?: number;
}

export interface RollupResult {
  /** False when another replica held the lock. */
  ran: boolean;
  /** Buckets written per level. */
  written: Record<RollupLevel, number>;
  /** Dirty minutes redone. */
  redone: number;
  /** Watermark per level after the run (epoch ms). */
  rolledUntil: Partial<Record<RollupLevel, number>>;
  ms: number;
}

const DAY_MS = 86_400_000;
const FINER: Record<Exclude<RollupLevel, '1m'>, RollupLevel> = { '5m': '1m', '1h': '5m' };
/** Chunk durations aim between these (ms of work per transaction). */
const CHUNK_FAST_MS = 100;
const CHUNK_SLOW_MS = 400;
const MAX_CHUNK: Record<RollupLevel, number> = { '1m': DAY_MS, '5m': 7 * DAY_MS, '1h': 90 * DAY_MS };
/** Dirty minutes taken per run (the rest next time). */
const DIRTY_PER_RUN = 2000;

const floorTo = (t: number, ms: number) => Math.floor(t / ms) * ms;
const ceilTo = (t: number, ms: number) => Math.ceil(t / ms) * ms;
const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Rollups = ReturnType<typeof createRollups>;

export function createRollups(deps: RollupDeps) {
  const { db, logger } = deps;
  const repo = metricRollupsRepo(db.knex);
  const graceMs = deps.graceMs ?? 60_000;
  const chunkMs: Record<RollupLevel, number> = { '1m': 10 * 60_000, '5m': 6 * 3_600_000, '1h': 7 * DAY_MS };
  /** A run in progress should end after its current transaction (stop() waits for it). */
  let aborting = false;

  /** Grows or shrinks a level's chunk so that one transaction takes a fraction of a second. */
  function adapt(level: RollupLevel, tookMs: number): void {
    if (tookMs < CHUNK_FAST_MS) chunkMs[level] = Math.min(MAX_CHUNK[level], chunkMs[level] * 2);
    else if (tookMs > CHUNK_SLOW_MS) chunkMs[level] = Math.max(LEVEL_MS[level], floorTo(chunkMs[level] / 2, LEVEL_MS[level]));
  }

  /** Where a level without a watermark starts: its source's first data, or the target when there is none. */
  async function firstStart(level: RollupLevel, target: number): Promise<number> {
    const first = level === '1m' ? await repo.nextRawTime(0) : await repo.nextBucket(FINER[level], 0);
    return first === undefined ? target : Math.min(target, floorTo(first, LEVEL_MS[level]));
  }

  /** Rolls a level from its watermark up to `target` (aligned to the level); answers the buckets written. */
  async function advance(level: RollupLevel, target: number, rolledUntil: number | undefined): Promise<number> {
    const ms = LEVEL_MS[level];
    let cur = rolledUntil ?? (await firstStart(level, target));
    if (rolledUntil === undefined) await repo.setRolledUntil(level, cur);
    let written = 0;
    while (cur < target && !aborting) {
      const lo = cur;
      const hi = Math.min(target, lo + Math.max(ms, floorTo(chunkMs[level], ms)));
      const started = performance.now();
      const next = await inRollupTransaction(db.knex, async (r) => {
        await r.lockState();
        const n = level === '1m' ? await r.rollRaw(lo, hi) : await r.rollLevel(FINER[level], level, lo, hi);
        let until = hi;
        if (n === 0) {
          // Nothing here: jump to the source's next data (under the lock, so no late sample slips past).
          const after = level === '1m' ? await r.nextRawTime(hi) : await r.nextBucket(FINER[level], hi);
          until = after === undefined ? target : Math.min(target, Math.max(hi, floorTo(after, ms)));
        }
        await r.setRolledUntil(level, until);
        return { n, until };
      });
      const took = performance.now() - started;
      adapt(level, took);
      logger.debug({ level, from: new Date(lo).toISOString(), to: new Date(next.until).toISOString(), buckets: next.n, ms: Math.round(took) }, 'rollup chunk');
      written += next.n;
      cur = next.until;
      await yieldToOthers();
    }
    return written;
  }

  /** Redoes dirty minutes (and the coarser buckets holding them), per agent and stretch of minutes. */
  async function redoDirty(nowMs: number, rawRetentionMs: number): Promise<number> {
    const marks = await repo.dirty({ limit: DIRTY_PER_RUN });
    let redone = 0;
    // Raw samples that old may be pruned already: redoing the minute from them would lose what the rollup holds.
    const oldest = nowMs - rawRetentionMs + 3_600_000;
    const stretches: Array<{ agentId: string; lo: number; hi: number }> = [];
    for (const m of marks) {
      const last = stretches[stretches.length - 1];
      if (last && last.agentId === m.agent_id && last.hi === m.minute) last.hi += 60_000;
      else stretches.push({ agentId: m.agent_id, lo: m.minute, hi: m.minute + 60_000 });
    }
    for (const s of stretches) {
      if (aborting) break;
      await inRollupTransaction(db.knex, async (r) => {
        await r.lockState();
        if (s.hi > oldest) {
          const state = await r.state();
          const lo = Math.max(s.lo, floorTo(oldest, 60_000));
          await r.rollRaw(lo, s.hi, s.agentId);
          for (const level of ['5m', '1h'] as const) {
            const until = state.get(level);
            const from = floorTo(lo, LEVEL_MS[level]);
            const to = Math.min(ceilTo(s.hi, LEVEL_MS[level]), until ?? 0);
            if (from < to) await r.rollLevel(FINER[level], level, from, to, s.agentId);
          }
        }
        await r.clearDirty(s.agentId, s.lo, s.hi);
      });
      redone += (s.hi - s.lo) / 60_000;
      await yieldToOthers();
    }
    return redone;
  }

  async function roll(untilMs?: number): Promise<Omit<RollupResult, 'ran' | 'ms'>> {
    const nowMs = await repo.now();
    const redone = await redoDirty(nowMs, deps.rawRetentionDays * DAY_MS);
    const written: Record<RollupLevel, number> = { '1m': 0, '5m': 0, '1h': 0 };
    let state = await repo.state();
    written['1m'] = await advance('1m', floorTo(untilMs ?? nowMs - graceMs, 60_000), state.get('1m'));
    for (const level of ['5m', '1h'] as const) {
      state = await repo.state();
      const source = state.get(FINER[level]);
      if (source !== undefined) written[level] = await advance(level, floorTo(source, LEVEL_MS[level]), state.get(level));
    }
    state = await repo.state();
    return { written, redone, rolledUntil: Object.fromEntries(state) };
  }

  async function runOnce(untilMs?: number): Promise<RollupResult> {
    const started = performance.now();
    const done = await withAdvisoryLock(db, ROLLUP_LOCK_KEY, () => roll(untilMs));
    const result: RollupResult = { ran: done !== undefined, ...(done ?? { written: { '1m': 0, '5m': 0, '1h': 0 }, redone: 0, rolledUntil: {} }), ms: performance.now() - started };
    if (!result.ran) logger.debug('rollups skipped: another AMS holds the lock');
    else if (result.ms > 1000) logger.info({ written: result.written, redone: result.redone, ms: Math.round(result.ms) }, 'metric rollups caught up');
    return result;
  }

  const job = periodicJob(runOnce, {
    everyMs: deps.intervalMs ?? 30_000,
    firstDelayMs: 0,
    onError: (err) => logger.warn({ err: err.message }, 'metric rollup run failed; retried at the next run'),
  });

  return {
    /**
     * One run now (a run in progress is joined, not repeated). `untilMs` rolls raw samples up to
     * that time instead of the clock minus the grace (tests).
     */
    run: (opts: { untilMs?: number } = {}): Promise<RollupResult> => job.run(opts.untilMs),
    start: () => job.start(),
    /** Stops the timer and ends a run in progress after its current transaction; run() still works afterwards. */
    async stop(): Promise<void> {
      aborting = true;
      await job.stop();
      aborting = false;
    },
  };
}
