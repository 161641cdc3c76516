// event_outbox: events written with the change they record, until published to OPMAS_EVENTS.
import type { Queryable } from './agents.repo.js';

export interface OutboxRow {
  id: number;
  type: string;
  event: Record<string, unknown>;
  created_at: Date;
}

export function outboxRepo(q: Queryable) {
  return {
    async append(events: Array<{ type: string } & Record<string, unknown>>): Promise<void> {
      if (events.length === 0) return;
      await q('event_outbox').insert(events.map((e) => ({ type: e.type, event: JSON.stringify(e) })));
    },
    /** The oldest rows not published yet, in id order. */
    pending: (limit: number): Promise<OutboxRow[]> => q('event_outbox').select('*').orderBy('id').limit(limit),
    async remove(ids: number[]): Promise<void> {
      if (ids.length > 0) await q('event_outbox').whereIn('id', ids).delete();
    },
    /** Wakes the publisher of any replica listening (PostgreSQL; a no-op statement's cost elsewhere). */
    async notify(): Promise<void> {
      await q.raw("SELECT pg_notify('opmas_outbox', '')");
    },
  };
}
