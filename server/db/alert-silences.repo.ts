// alert_silences: create, end early, list, and find the silence that applies to an alert.
// "Active" is decided at read time (starts_at <= now < ends_at, not ended), so a silence
// expires by itself with nothing running.
import type { Knex } from 'knex';
import type { Queryable } from './agents.repo.js';

export interface SilenceRow {
  id: number;
  agent_id: string | null;
  rule: string | null;
  reason: string;
  created_by: string;
  created_at: Date;
  starts_at: Date;
  ends_at: Date;
  ended_at: Date | null;
  ended_by: string | null;
}

export type NewSilence = Pick<SilenceRow, 'agent_id' | 'rule' | 'reason' | 'created_by' | 'starts_at' | 'ends_at'>;

export interface SilenceFilter {
  /** active: in force now; inactive: expired or ended early; all: both. */
  state: 'active' | 'inactive' | 'all';
  agentId?: string;
  rule?: string;
  beforeId?: number;
  limit: number;
  now: Date;
}

export function alertSilencesRepo(q: Queryable) {
  const active = (query: Knex.QueryBuilder, now: Date) => query.whereNull('ended_at').where('starts_at', '<=', now).where('ends_at', '>', now);
  return {
    async insert(s: NewSilence): Promise<SilenceRow> {
      const [row] = await q('alert_silences').insert(s).returning('*');
      return row;
    },
    byId(id: number): Promise<SilenceRow | undefined> {
      return q('alert_silences').where('id', id).first();
    },
    byIdForUpdate(id: number): Promise<SilenceRow | undefined> {
      return q('alert_silences').where('id', id).forUpdate().first();
    },
    async end(id: number, by: string, now: Date): Promise<SilenceRow> {
      const [row] = await q('alert_silences').where('id', id).update({ ended_at: now, ended_by: by }).returning('*');
      return row;
    },
    /**
     * The active silence covering an alert of `rule` about `agentId`: one for that agent (any
     * rule), that rule (any agent), or both; the one that lasts longest when several do.
     */
    matching(agentId: string | null, rule: string, now: Date): Promise<SilenceRow | undefined> {
      const query = active(q('alert_silences'), now)
        .where((w) => (agentId === null ? w.whereNull('agent_id') : w.whereNull('agent_id').orWhere('agent_id', agentId)))
        .where((w) => w.whereNull('rule').orWhere('rule', rule))
        .orderBy([{ column: 'ends_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      return query.first();
    },
    list(f: SilenceFilter): Promise<SilenceRow[]> {
      const query = q('alert_silences').select('*').orderBy('id', 'desc').limit(f.limit + 1);
      if (f.state === 'active') active(query, f.now);
      else if (f.state === 'inactive') query.where((w) => w.whereNotNull('ended_at').orWhere('ends_at', '<=', f.now).orWhere('starts_at', '>', f.now));
      if (f.agentId) query.where('agent_id', f.agentId);
      if (f.rule) query.where('rule', f.rule);
      if (f.beforeId !== undefined) query.where('id', '<', f.beforeId);
      return query;
    },
  };
}
