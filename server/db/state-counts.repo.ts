// What the fleet's state counts over time are computed from: today's counts (agent_status)
// and the transitions since a moment (agent_status_history by time), newest first.
import type { Queryable } from './agents.repo.js';

/** History rows that change the process status (the rest change health, recovery, or nothing). */
export const PROCESS_EVENT_TYPES = ['discovered', 'registered', 'start_requested', 'process_started', 'stop_requested', 'process_stopped', 'process_exited', 'degraded', 'recovered'];
export const HEALTH_EVENT_TYPES = ['health_changed'];

export interface TransitionRow {
  kind: 'process' | 'health';
  from_status: string | null;
  to_status: string | null;
  /** Epoch ms. */
  at: number;
}

export function stateCountsRepo(q: Queryable) {
  return {
    async current(): Promise<Array<{ process_status: string; health_status: string; n: number }>> {
      const rows = await q('agent_status').select('process_status', 'health_status').count<Array<{ process_status: string; health_status: string; n: string | number }>>('* as n').groupBy('process_status', 'health_status');
      return rows.map((r) => ({ process_status: r.process_status, health_status: r.health_status, n: Number(r.n) }));
    },
    /** Process and health transitions at or after `since`, newest first. */
    async since(since: Date): Promise<TransitionRow[]> {
      const rows: Array<{ event_type: string; from_status: string | null; to_status: string | null; created_at: Date }> = await q('agent_status_history')
        .select('event_type', 'from_status', 'to_status', 'created_at')
        .where('created_at', '>=', since)
        .whereIn('event_type', [...PROCESS_EVENT_TYPES, ...HEALTH_EVENT_TYPES])
        .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      return rows.map((r) => ({ kind: HEALTH_EVENT_TYPES.includes(r.event_type) ? 'health' : 'process', from_status: r.from_status, to_status: r.to_status, at: r.created_at.getTime() }));
    },
  };
}
