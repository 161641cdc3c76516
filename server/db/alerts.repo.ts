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
  /** The silence that muted its notification, if any (migration 041). */
  silence_id: number | null;
}

export interface NewAlert {
  rule: string;
  severity: string;
  agent_id: string | null;
  title: string;
  message: string;
  details: Record<string, unknown>;
  dedup_key: string;
  silence_id?: number | null;
}

import { ALERT_SORTS, type AlertSort } from '../alerts/rules.js';

export { ALERT_SORTS, type AlertSort };

/** Where the previous page ended, in the order of `sort`. */
export type AlertCursor = { i: number; r?: number; t?: string };

export interface AlertFilter {
  status?: string[];
  severity?: string[];
  agentId?: string;
  rule?: string[];
  /** Labels the alert's agent must carry (agents that no longer exist match none). */
  labels?: Record<string, string>;
  sort?: AlertSort;
  after?: AlertCursor;
  limit: number;
}

/** Severity as a number for ordering: critical first when sorting descending. */
const SEVERITY_RANK_SQL = "CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END";
export const severityRankOf = (severity: string): number => (severity === 'critical' ? 2 : severity === 'warning' ? 1 : 0);

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
    async bump(id: number, changes: { severity: string; title: string; message: string; details: Record<string, unknown>; silence_id?: number }, now: Date): Promise<AlertRow> {
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
    /**
     * Resolves the unresolved alerts of `rule` (any rule when omitted) for `agentId` (or, for an
     * alert about no agent, the one with `key`), except keys in `keep`.
     */
    resolveMatching(f: { rule?: string; agentId: string | null; key?: string; keep?: string[]; ids?: number[] }, reason: string, now: Date): Promise<AlertRow[]> {
      const query = q('alerts').whereNot('status', 'resolved');
      if (f.agentId !== null) query.where('agent_id', f.agentId);
      else query.whereNull('agent_id');
      if (f.key) query.where('dedup_key', f.key);
      if (f.rule) query.where('rule', f.rule);
      if (f.keep && f.keep.length > 0) query.whereNotIn('dedup_key', f.keep);
      if (f.ids) query.whereIn('id', f.ids);
      return query.update({ status: 'resolved', resolved_at: now, resolved_reason: reason }).returning('*');
    },
    /** The agents that have an unresolved alert. */
    async agentsWithOpenAlerts(): Promise<string[]> {
      return q('alerts').whereNot('status', 'resolved').whereNotNull('agent_id').distinct().pluck('agent_id');
    },
    /** Unresolved alerts of one agent (of one rule when given). */
    activeFor(agentId: string, rule?: string): Promise<AlertRow[]> {
      const query = q('alerts').where('agent_id', agentId).whereNot('status', 'resolved');
      if (rule) query.where('rule', rule);
      return query;
    },
    /**
     * How far the alert engine `name` has evaluated the stream `stream` (0 before it started, or
     * when the stream is not the one the position was in), locked until the transaction ends.
     */
    async positionForUpdate(name: string, stream: string): Promise<number> {
      await q.raw('INSERT INTO alert_engine_position (name, last_seq, stream) VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING', [name, stream]);
      const row = await q('alert_engine_position').where({ name }).forUpdate().first('last_seq', 'stream');
      return row && row.stream === stream ? Number(row.last_seq) : 0;
    },
    async setPosition(name: string, stream: string, seq: number): Promise<void> {
      await q('alert_engine_position').where({ name }).update({ last_seq: seq, stream, updated_at: q.fn.now(3) });
    },
    async addFailure(agentId: string, at: Date): Promise<void> {
      await q('alert_failures').insert({ agent_id: agentId, failed_at: at });
    },
    /** The agent's failures in (from, to]. */
    async failuresBetween(agentId: string, from: Date, to: Date): Promise<number> {
      const row = await q('alert_failures').where('agent_id', agentId).where('failed_at', '>', from).where('failed_at', '<=', to).count({ n: '*' }).first();
      return Number(row?.n ?? 0);
    },
    async lastFailure(agentId: string): Promise<Date | undefined> {
      const row = await q('alert_failures').where('agent_id', agentId).max({ at: 'failed_at' }).first();
      return row?.at ? new Date(row.at) : undefined;
    },
    async forgetFailures(f: { agentId?: string; before?: Date }): Promise<void> {
      const query = q('alert_failures');
      if (f.agentId) query.where('agent_id', f.agentId);
      if (f.before) query.where('failed_at', '<', f.before);
      await query.del();
    },
    /** Unresolved alerts of one rule, oldest activity first (the crash-loop sweep). */
    active(rule: string, limit = 500): Promise<AlertRow[]> {
      return q('alerts').where('rule', rule).whereNot('status', 'resolved').orderBy('last_seen_at', 'asc').limit(limit);
    },
    /** A keyset page, newest first (`newest`), worst first (`severity`) or by latest activity (`last_seen`); ties by id. */
    list(f: AlertFilter): Promise<AlertRow[]> {
      const query = q('alerts').select('*').limit(f.limit + 1);
      const sort = f.sort ?? 'newest';
      if (sort === 'severity') query.orderByRaw(`${SEVERITY_RANK_SQL} DESC, id DESC`);
      else if (sort === 'last_seen') query.orderBy([{ column: 'last_seen_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
      else query.orderBy('id', 'desc');
      if (f.status?.length) query.whereIn('status', f.status);
      if (f.severity?.length) query.whereIn('severity', f.severity);
      if (f.agentId) query.where('agent_id', f.agentId);
      if (f.rule?.length) query.whereIn('rule', f.rule);
      if (f.labels && Object.keys(f.labels).length > 0) {
        query.whereIn('agent_id', q('agents').select('id').whereRaw('labels @> ?::jsonb', [JSON.stringify(f.labels)]));
      }
      if (f.after) {
        if (sort === 'severity') query.whereRaw(`(${SEVERITY_RANK_SQL}, id) < (?, ?)`, [f.after.r ?? 0, f.after.i]);
        else if (sort === 'last_seen') query.whereRaw('(last_seen_at, id) < (?::timestamptz, ?)', [f.after.t ?? new Date(0).toISOString(), f.after.i]);
        else query.where('id', '<', f.after.i);
      }
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
    /** Deliveries not finished (a replica that ran the alert engine died while sending them). */
    unfinished(limit = 500): Promise<DeliveryRow[]> {
      return q('alert_deliveries').whereIn('status', ['pending', 'retrying']).orderBy('id', 'asc').limit(limit);
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
