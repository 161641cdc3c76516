// What should be, per agent (agents.desired_state, held, operator intents) and the rows the
// control plane builds a host's agent specs from: agent, status, registered package and policy.
import type { Queryable } from './agents.repo.js';
import type { PolicyRow } from './recovery.repo.js';

export interface IntentRecord {
  action: 'start' | 'stop' | 'restart' | 'recover';
  actor: string;
  correlation_id: string | null;
  at: string;
}

export interface DesiredRow {
  id: string;
  name: string;
  type: string;
  version: string;
  host_id: string | null;
  disabled: boolean;
  desired_state: string;
  held: boolean;
  held_reason: string | null;
  restart_generation: number;
  recover_generation: number;
  intent: IntentRecord | null;
  subscribed_topics: string[];
  findings_topic: string | null;
}

export interface SpecRow extends DesiredRow {
  process_status: string;
  health_status: string;
  recovery_status: string;
  pid: number | null;
  start_time: Date | null;
  config_version: number | null;
  config_since: Date | null;
  stable_config_version: number | null;
  last_heartbeat: Date | null;
  package_path: string | null;
  policy: PolicyRow | null;
}

const SPEC_COLUMNS = [
  'a.id', 'a.name', 'a.type', 'a.version', 'a.host_id', 'a.disabled', 'a.desired_state', 'a.held', 'a.held_reason', 'a.restart_generation',
  'a.recover_generation', 'a.intent', 'a.subscribed_topics', 'a.findings_topic', 's.process_status', 's.health_status', 's.recovery_status', 's.pid',
  's.start_time', 's.config_version', 's.config_since', 's.stable_config_version', 's.last_heartbeat',
];

export function desiredStateRepo(q: Queryable) {
  return {
    get: (id: string): Promise<DesiredRow | undefined> =>
      q('agents').where({ id }).first('id', 'name', 'type', 'version', 'host_id', 'disabled', 'desired_state', 'held', 'held_reason', 'restart_generation', 'recover_generation', 'intent', 'subscribed_topics', 'findings_topic'),

    /**
     * Locks the agent row for an intent change (until the transaction ends). FOR NO KEY UPDATE: it
     * serializes intents like FOR UPDATE but lets the foreign key checks of rows that reference the
     * agent through (a status write elsewhere locks agent_status, then appends history; with FOR
     * UPDATE here it and this intent would deadlock).
     */
    lock: (id: string): Promise<DesiredRow | undefined> =>
      q('agents').where({ id }).forNoKeyUpdate().first('id', 'name', 'type', 'version', 'host_id', 'disabled', 'desired_state', 'held', 'held_reason', 'restart_generation', 'recover_generation', 'intent', 'subscribed_topics', 'findings_topic'),

    async set(id: string, values: Partial<{ desired_state: string; held: boolean; held_reason: string | null; intent: IntentRecord | null; host_id: string | null }> & { bumpRestart?: boolean; bumpRecover?: boolean }): Promise<void> {
      const row: Record<string, unknown> = { updated_at: q.fn.now(3) };
      for (const k of ['desired_state', 'held', 'held_reason', 'host_id'] as const) if (values[k] !== undefined) row[k] = values[k];
      if (values.intent !== undefined) row.intent = values.intent === null ? null : JSON.stringify(values.intent);
      if (values.bumpRestart) row.restart_generation = q.raw('restart_generation + 1');
      if (values.bumpRecover) row.recover_generation = q.raw('recover_generation + 1');
      await q('agents').where({ id }).update(row);
    },

    /** Lifts the hold of agents whose config or package changed. */
    async release(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await q('agents').whereIn('id', ids).where('held', true).update({ held: false, held_reason: null, updated_at: q.fn.now(3) }).returning('id');
      return rows.map((r: { id: string }) => r.id);
    },

    hostOf: async (id: string): Promise<string | null | undefined> => (await q('agents').where({ id }).first('host_id'))?.host_id,
    /** The host of each agent (null: none; absent: no such agent), in one query. */
    async hostsOf(ids: readonly string[]): Promise<Map<string, string | null>> {
      const rows: Array<{ id: string; host_id: string | null }> = await q('agents').whereIn('id', [...ids]).select('id', 'host_id');
      return new Map(rows.map((r) => [r.id, r.host_id]));
    },

    /** Spec rows of a host's agents, by id after `after`, up to `limit`. */
    async specRows(hostId: string, opts: { after?: string; limit?: number; ids?: string[] } = {}): Promise<SpecRow[]> {
      const query = q('agents as a')
        .join('agent_status as s', 's.agent_id', 'a.id')
        .leftJoin('agent_packages as p', function () {
          this.on('p.agent_id', '=', 'a.id').andOn('p.host_id', '=', 'a.host_id').andOnVal('p.status', '=', 'registered');
        })
        .leftJoin('agent_recovery_policies as r', 'r.agent_id', 'a.id')
        .where('a.host_id', hostId)
        .select([...SPEC_COLUMNS, 'p.path as package_path', q.raw('to_jsonb(r.*) AS policy')])
        .orderBy('a.id');
      if (opts.ids) query.whereIn('a.id', opts.ids);
      if (opts.after) query.where('a.id', '>', opts.after);
      if (opts.limit) query.limit(opts.limit);
      return query;
    },

    /** Agent ids of a host. */
    idsOfHost: (hostId: string): Promise<string[]> => q('agents').where({ host_id: hostId }).pluck('id'),
  };
}
