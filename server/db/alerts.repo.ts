// alerts: raise-or-bump by deduplication key, acknowledge, resolve, list with filters.
import type { Queryable } from './agents.repo.js';

export interface AlertRow {
  id: number;
  rule: string;
  severity: string;
  status: string;
  agent_id: string | null;
  title: string;
  message: string;
  details: Record<string, unknown>;
  dedup_key: string;
  count: number;
  first_seen_at: Date;
  last_seen_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_reason: string | null;
}

export interface NewAlert {
  rule: string;
  severity: string;
  agent_id: string | null;
  title: string;
  message: string;
  details: Record<string, unknown>;
  dedup_key: string;
}

export interface AlertFilter {
  status?: string[];
  severity?: string[];
  agentId?: string;
  rule?: string;
  beforeId?: number;
  limit: number;
}

export function alertsRepo(q: Queryable) {
  return {
    /** The unresolved alert with this key, locked for the rest of the transaction. */
    async activeByKeyForUpdate(key: string): Promise<AlertRow | undefined> {
      return q('alerts').where('dedup_key', key).whereNot('status', 'resolved').forUpdate().first();
    },
    async insert(a: NewAlert, now: Date): Promise<AlertRow> {
      const [row] = await q('alerts')
        .insert({ ...a, details: JSON.stringify(a.details), status: 'open', count: 1, first_seen_at: now, last_seen_at: now })
        .returning('*');
      return row;
    },
    async bump(id: number, changes: { severity: string; title: string; message: string; details: Record<string, unknown> }, now: Date): Promise<AlertRow> {
      const [row] = await q('alerts')
        .where('id', id)
        .update({ ...changes, details: JSON.stringify(changes.details), count: q.raw('count + 1'), last_seen_at: now })
        .returning('*');
      return row;
    },
    byId(id: number): Promise<AlertRow | undefined> {
      return q('alerts').where('id', id).first();
    },
    byIdForUpdate(id: number): Promise<AlertRow | undefined> {
      return q('alerts').where('id', id).forUpdate().first();
    },
    async acknowledge(id: number, by: string, now: Date): Promise<AlertRow> {
      const [row] = await q('alerts').where('id', id).update({ status: 'acknowledged', acknowledged_at: now, acknowledged_by: by }).returning('*');
      return row;
    },
    /** Resolves the unresolved alerts of `rule` (any rule when omitted) for `agentId`, except keys in `keep`. */
    resolveMatching(f: { rule?: string; agentId: string; keep?: string[]; ids?: number[] }, reason: string, now: Date): Promise<AlertRow[]> {
      const query = q('alerts').where('agent_id', f.agentId).whereNot('status', 'resolved');
      if (f.rule) query.where('rule', f.rule);
      if (f.keep && f.keep.length > 0) query.whereNotIn('dedup_key', f.keep);
      if (f.ids) query.whereIn('id', f.ids);
      return query.update({ status: 'resolved', resolved_at: now, resolved_reason: reason }).returning('*');
    },
    /** Unresolved alerts of one agent (of one rule when given). */
    activeFor(agentId: string, rule?: string): Promise<AlertRow[]> {
      const query = q('alerts').where('agent_id', agentId).whereNot('status', 'resolved');
      if (rule) query.where('rule', rule);
      return query;
    },
    /** How many unresolved alerts each agent has, per rule. */
    openCounts(): Promise<Array<{ agent_id: string; rule: string; n: number }>> {
      return q('alerts').whereNot('status', 'resolved').whereNotNull('agent_id').groupBy('agent_id', 'rule').select('agent_id', 'rule').count({ n: '*' }) as unknown as Promise<
        Array<{ agent_id: string; rule: string; n: number }>
      >;
    },
    /** Unresolved alerts of one rule, oldest activity first (the crash-loop sweep). */
    active(rule: string, limit = 500): Promise<AlertRow[]> {
      return q('alerts').where('rule', rule).whereNot('status', 'resolved').orderBy('last_seen_at', 'asc').limit(limit);
    },
    list(f: AlertFilter): Promise<AlertRow[]> {
      const query = q('alerts').select('*').orderBy('id', 'desc').limit(f.limit + 1);
      if (f.status?.length) query.whereIn('status', f.status);
      if (f.severity?.length) query.whereIn('severity', f.severity);
      if (f.agentId) query.where('agent_id', f.agentId);
      if (f.rule) query.where('rule', f.rule);
      if (f.beforeId !== undefined) query.where('id', '<', f.beforeId);
      return query;
    },
  };
}

export interface DeliveryRow {
  id: number;
  alert_id: number;
  channel: string;
  channel_type: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

export function alertDeliveriesRepo(q: Queryable) {
  return {
    async insert(d: { alert_id: number; channel: string; channel_type: string; kind: string; status: string; attempts?: number; last_error?: string | null }): Promise<DeliveryRow> {
      const [row] = await q('alert_deliveries').insert({ attempts: 0, ...d }).returning('*');
      return row;
    },
    async update(id: number, changes: { status: string; attempts: number; last_error: string | null }): Promise<void> {
      await q('alert_deliveries').where('id', id).update({ ...changes, updated_at: new Date() });
    },
    forAlert(alertId: number): Promise<DeliveryRow[]> {
      return q('alert_deliveries').where('alert_id', alertId).orderBy('id', 'asc');
    },
    /** Channels that were told about this alert being raised or escalated (to tell them it resolved). */
    async notifiedChannels(alertId: number): Promise<string[]> {
      const rows = await q('alert_deliveries').where('alert_id', alertId).whereIn('kind', ['raised', 'escalated']).where('status', 'delivered').distinct('channel');
      return rows.map((r: { channel: string }) => r.channel);
    },
  };
}
