// audit_log: append and query. There is no update or delete here, by design.
import type { Queryable } from './agents.repo.js';

export interface AuditEntry {
  actor_type: string;
  actor_id: string | null;
  actor_name: string | null;
  role: string | null;
  action: string;
  target: string | null;
  before?: unknown;
  after?: unknown;
  source: string | null;
  result: 'success' | 'failure' | 'denied';
  status: number | null;
  correlation_id: string | null;
  details?: unknown;
}

export interface AuditRow extends AuditEntry {
  id: number;
  time: Date;
}

export interface AuditFilter {
  actor?: string;
  /** An action, or a prefix ending in `*` (`user.*`). */
  action?: string;
  result?: string;
  target?: string;
  from?: string;
  to?: string;
  before?: { time: string; id: number };
  limit: number;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export function auditRepo(q: Queryable) {
  return {
    async append(entries: AuditEntry[]): Promise<AuditRow[]> {
      if (entries.length === 0) return [];
      return q('audit_log').insert(entries.map((e) => ({ ...e, before: json(e.before), after: json(e.after), details: json(e.details) }))).returning('*');
    },
    list(f: AuditFilter): Promise<AuditRow[]> {
      const query = q('audit_log').select('*').orderBy([{ column: 'time', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(f.limit + 1);
      if (f.actor) query.where('actor_name', f.actor);
      if (f.action?.endsWith('*')) query.whereLike('action', `${escapeLike(f.action.slice(0, -1))}%`);
      else if (f.action) query.where('action', f.action);
      if (f.result) query.where('result', f.result);
      if (f.target) query.where('target', f.target);
      if (f.from) query.where('time', '>=', f.from);
      if (f.to) query.where('time', '<', f.to);
      if (f.before) query.whereRaw('(time, id) < (?::timestamptz, ?)', [f.before.time, f.before.id]);
      return query;
    },
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
