// agent_status_history: one row per status transition, with its cause in details.
import type { Queryable } from './agents.repo.js';

export interface StatusHistoryEntry {
  agent_id: string;
  event_type: string;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, unknown>;
  /** When it happened, if not now (an observation applied later keeps the time it was observed). */
  created_at?: Date;
}

export interface StatusHistoryRow extends StatusHistoryEntry {
  id: number;
  created_at: Date;
}

export function statusHistoryRepo(q: Queryable) {
  return {
    async append(entry: StatusHistoryEntry): Promise<void> {
      await q('agent_status_history').insert({ ...entry, details: JSON.stringify(entry.details) });
    },
    list(f: { agentId: string; from?: string; to?: string; eventType?: string; before?: { time: string; id: number }; limit: number }): Promise<StatusHistoryRow[]> {
      const query = q('agent_status_history')
        .where('agent_id', f.agentId)
        .select('*')
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .limit(f.limit + 1);
      if (f.from) query.where('created_at', '>=', f.from);
      if (f.to) query.where('created_at', '<', f.to);
      if (f.eventType) query.where('event_type', f.eventType);
      if (f.before) query.whereRaw('(created_at, id) < (?::timestamptz, ?)', [f.before.time, f.before.id]);
      return query;
    },
  };
}
