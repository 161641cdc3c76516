// State events published outside a transaction, written to the outbox together: what is
// published in one turn of the event loop (a fleet's agents becoming healthy after a start, a
// burst of heartbeats) is one INSERT instead of one per event, and batches are written one after
// another, so the outbox ids, and so the stream, follow the order the events were published in.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { outboxRepo } from '../db/outbox.repo.js';

/** Rows per INSERT (a larger backlog is written in several, in order). */
const MAX_BATCH = 1000;

type OutboxEvent = { type: string } & Record<string, unknown>;

export function createOutboxBatch(deps: { db: Database; logger: Logger; written: () => void }) {
  const queued: OutboxEvent[] = [];
  let writing: Promise<void> | undefined;

  async function drain(): Promise<void> {
    // The rest of this turn's events join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queued.length > 0) {
      const batch = queued.splice(0, MAX_BATCH);
      try {
        await outboxRepo(deps.db.knex).append(batch);
        deps.written();
      } catch (err) {
        deps.logger.warn({ err: (err as Error).message, events: batch.length, types: [...new Set(batch.map((e) => e.type))] }, 'events could not be recorded');
      }
    }
  }

  return {
    append(event: OutboxEvent): void {
      queued.push(event);
      writing ??= drain().finally(() => (writing = undefined));
    },
    /** Resolves once every event appended so far was written (or given up). */
    async settle(): Promise<void> {
      while (writing) await writing;
    },
  };
}
