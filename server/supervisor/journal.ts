// The supervisor's observation journal: every observation is appended to a file in the data
// dir before it is published, and removed once JetStream has stored it (its PubAck). While NATS
// is unreachable observations accumulate here and are published in order when it returns; a
// supervisor that crashes publishes what it had not sent at its next start. Samples and log
// lines are bounded (oldest dropped first, counted and reported); state observations never are.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { DROPPABLE_KINDS, type Observation, type ObservationBody, type ObservationKind } from '../broker/host-protocol.js';
import { backoffDelay } from '../domain/backoff.js';

export interface JournalOptions {
  dir: string;
  hostId: string;
  logger: Logger;
  /** Bytes of samples and log lines kept while unpublished before the oldest are dropped. */
  maxDroppableBytes?: number;
  /** Observations published at once (JetStream keeps them in the order they arrive). */
  window?: number;
}

export interface JournalStats {
  pending: number;
  published: number;
  dropped_samples: number;
  dropped_log_lines: number;
  publish_failures: number;
  /** State observations too large for NATS, replaced by placeholders (a bug if ever non-zero). */
  oversized: number;
  last_error: string | null;
}

/** The publisher's answer for an observation NATS can never take (larger than its max payload). */
export class ObservationTooLarge extends Error {
  constructor(bytes: number, max: number) {
    super(`the observation is ${bytes} bytes; NATS takes at most ${max}`);
    this.name = 'ObservationTooLarge';
  }
}

interface Entry {
  obs: Observation;
  line: string;
}

export type Journal = ReturnType<typeof createJournal>;

export function createJournal(opts: JournalOptions) {
  const { logger } = opts;
  const file = path.join(opts.dir, 'journal.ndjson');
  const maxDroppable = opts.maxDroppableBytes ?? 64 * 1024 * 1024;
  const window = opts.window ?? 64;
  let queue: Entry[] = [];
  let epoch = 0;
  let seq = 0;
  let droppableBytes = 0;
  /** Since samples and log lines began to be dropped (until the journal is empty again). */
  let dropping = false;
  let ackedSinceCompaction = 0;
  let publisher: ((o: Observation) => Promise<void>) | undefined;
  let running = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const drainWaiters = new Set<() => void>();
  const stats: JournalStats = { pending: 0, published: 0, dropped_samples: 0, dropped_log_lines: 0, publish_failures: 0, oversized: 0, last_error: null };

  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });

  function rewrite(): void {
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, queue.map((e) => `${e.line}\n`).join(''), { mode: 0o600 });
    fs.renameSync(tmp, file);
    ackedSinceCompaction = 0;
  }

  /** What stands in for a dropped entry: its place in the sequence, so the control plane sees no gap. */
  function placeholder(e: Entry): Entry {
    const samples = e.obs.kind === 'metrics.samples' ? (e.obs.body as ObservationBody<'metrics.samples'>).samples.length : 0;
    const logLines = e.obs.kind === 'logs.lines' ? (e.obs.body as ObservationBody<'logs.lines'>).lines.length : 0;
    const obs: Observation = { v: 1, host: e.obs.host, epoch: e.obs.epoch, seq: e.obs.seq, at: e.obs.at, kind: 'journal.dropped', body: { samples, log_lines: logLines, since: e.obs.at } };
    stats.dropped_samples += samples;
    stats.dropped_log_lines += logLines;
    if (DROPPABLE_KINDS.has(e.obs.kind)) droppableBytes -= e.line.length;
    return { obs, line: JSON.stringify(obs) };
  }

  /**
   * Replaces the oldest samples and log lines by placeholders until the bound holds again. Never
   * within the window being published (they may already be stored).
   */
  function enforceBound(): void {
    if (droppableBytes <= maxDroppable) return;
    if (!dropping) {
      dropping = true;
      logger.warn({ maxBytes: maxDroppable }, 'NATS does not take observations: the oldest samples and log lines past the journal\'s bound are dropped (state observations are kept)');
    }
    for (let i = window; i < queue.length && droppableBytes > maxDroppable; i++) {
      if (DROPPABLE_KINDS.has(queue[i].obs.kind)) queue[i] = placeholder(queue[i]);
    }
    rewrite();
  }

  function push(obs: Observation): void {
    const line = JSON.stringify(obs);
    const entry = { obs, line };
    queue.push(entry);
    if (DROPPABLE_KINDS.has(obs.kind)) droppableBytes += line.length;
    fs.appendFileSync(file, `${line}\n`, { mode: 0o600 });
    enforceBound();
    stats.pending = queue.length;
    wake?.();
  }

  async function publishLoop(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      if (queue.length === 0 || !publisher) {
        for (const w of drainWaiters) w();
        drainWaiters.clear();
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const batch = queue.slice(0, window);
      const results = await Promise.allSettled(batch.map((e) => publisher!(e.obs)));
      // One that NATS can never take (past its max payload) must not hold up the rest: it becomes a placeholder.
      let replaced = false;
      results.forEach((r, i) => {
        if (r.status !== 'rejected' || !(r.reason instanceof ObservationTooLarge)) return;
        const at = queue.indexOf(batch[i]);
        if (at < 0) return;
        logger.error({ kind: batch[i].obs.kind, seq: batch[i].obs.seq, bytes: batch[i].line.length, err: (r.reason as Error).message }, 'an observation is too large for NATS; a placeholder is published in its place');
        if (!DROPPABLE_KINDS.has(batch[i].obs.kind)) stats.oversized += 1;
        queue[at] = placeholder(batch[i]);
        replaced = true;
      });
      if (replaced) rewrite();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof ObservationTooLarge));
      if (failed) {
        failures += 1;
        stats.publish_failures += 1;
        stats.last_error = (failed.reason as Error).message;
        if (failures === 1 || failures % 20 === 0) logger.warn({ err: stats.last_error, pending: queue.length }, 'observations not published yet; kept in the journal');
        await new Promise((r) => setTimeout(r, backoffDelay({ initial: 100, factor: 2, max: 5000 }, failures)));
        continue;
      }
      if (replaced) continue; // the placeholders go out with the rest of the batch again (stored ones are deduplicated)
      failures = 0;
      stats.last_error = null;
      // The batch is stored; it is still the head unless the bound dropped entries behind it.
      const done = new Set(batch);
      queue = queue.filter((e) => {
        if (!done.has(e)) return true;
        if (DROPPABLE_KINDS.has(e.obs.kind)) droppableBytes -= e.line.length;
        return false;
      });
      stats.published += batch.length;
      stats.pending = queue.length;
      ackedSinceCompaction += batch.length;
      if (queue.length === 0 && dropping) {
        dropping = false;
        logger.warn({ samples: stats.dropped_samples, logLines: stats.dropped_log_lines }, 'the journal is published again; samples and log lines were dropped meanwhile (counted since start)');
      }
      if (queue.length === 0 || ackedSinceCompaction >= 500) rewrite();
    }
  }

  return {
    file,
    /**
     * Reads what an earlier run left unpublished (kept first, in order, with its own epochs)
     * and starts numbering this run's observations from 1 under `newEpoch`.
     */
    open(newEpoch: number): number {
      let leftover: Entry[] = [];
      try {
        for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
          if (!line.trim()) continue;
          try {
            const obs = JSON.parse(line) as Observation;
            if (obs && obs.host === opts.hostId && typeof obs.seq === 'number') leftover.push({ obs, line });
          } catch {
            // A torn last line from a crash: it was never published.
          }
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      // Observations of this epoch cannot be in an earlier run's journal; keep the order they were made in.
      leftover = leftover.filter((e) => e.obs.epoch < newEpoch);
      queue = [...leftover, ...queue];
      droppableBytes = queue.filter((e) => DROPPABLE_KINDS.has(e.obs.kind)).reduce((n, e) => n + e.line.length, 0);
      epoch = newEpoch;
      seq = 0;
      rewrite();
      stats.pending = queue.length;
      if (leftover.length > 0) logger.info({ observations: leftover.length }, 'publishing observations an earlier supervisor run left unpublished');
      return leftover.length;
    },

    get epoch() {
      return epoch;
    },
    /** The sequence number of this run's newest observation. */
    lastSeq: () => seq,

    /** Records an observation now (journaled at once, published as soon as NATS takes it). */
    emit<K extends ObservationKind>(kind: K, body: ObservationBody<K>): Observation<K> {
      if (epoch === 0) throw new Error('the journal is not open: no epoch yet');
      const obs: Observation<K> = { v: 1, host: opts.hostId, epoch, seq: ++seq, at: new Date().toISOString(), kind, body };
      push(obs as Observation);
      return obs;
    },

    /** Starts publishing through `publish` (resolves once JetStream stored the observation). */
    start(publish: (o: Observation) => Promise<void>): void {
      publisher = publish;
      if (running) return;
      running = true;
      void publishLoop();
    },

    /** Resolves once everything journaled so far is published, or after `timeoutMs`. */
    drained(timeoutMs = 10_000): Promise<boolean> {
      if (queue.length === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          drainWaiters.delete(done);
          resolve(false);
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        drainWaiters.add(done);
        wake?.();
      });
    },

    stats: (): JournalStats => ({ ...stats, pending: queue.length }),

    stop(): void {
      stopped = true;
      wake?.();
      for (const w of drainWaiters) w();
    },
  };
}
