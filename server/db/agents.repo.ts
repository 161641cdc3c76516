// agents + agent_status: the agent record and its current status, read together.
import type { Knex } from 'knex';
import type { AgentStatusRow } from './agent-status.repo.js';
import { prepared } from './prepared.js';

export type Queryable = Knex | Knex.Transaction;

/** The status columns read with every agent (COLUMNS below); times as ISO strings (prepared.ts). */
type StatusPart = Pick<AgentStatusRow, 'process_status' | 'health_status' | 'recovery_status' | 'pid' | 'last_error' | 'reported_status' | 'uptime_s'> & {
  start_time: string | null;
  last_heartbeat: string | null;
};

export interface AgentRow extends StatusPart {
  id: string;
  name: string;
  type: string;
  version: string;
  description: string | null;
  subscribed_topics: string[];
  findings_topic: string | null;
  labels: Record<string, string>;
  disabled: boolean;
  desired_state: string;
  held: boolean;
  held_reason: string | null;
  host_id: string | null;
  /** Process starts after the first one (operator restarts and recoveries alike). */
  restart_count: number;
  /** ISO 8601, as the API answers them. */
  created_at: string;
  updated_at: string;
}

export interface NewAgent {
  id: string;
  name: string;
  type: string;
  version: string;
  description?: string | null;
  subscribed_topics: string[];
  findings_topic?: string | null;
  labels: Record<string, string>;
  /** The host whose supervisor found the agent's package; none for agents registered through the API. */
  host_id?: string | null;
  desired_state?: 'running' | 'stopped';
}

export interface AgentFilter {
  type?: string;
  status?: string;
  health?: string;
  hostId?: string;
  desiredState?: string;
  q?: string;
  labels?: Record<string, string>;
  after?: { created_at: string; id: string };
  limit: number;
}

export type AgentChanges = Partial<Pick<NewAgent, 'version' | 'description' | 'subscribed_topics' | 'findings_topic' | 'labels'> & { disabled: boolean }>;

const COLUMNS = [
  'a.id', 'a.name', 'a.type', 'a.version', 'a.description', 'a.subscribed_topics', 'a.findings_topic', 'a.labels', 'a.disabled', 'a.desired_state', 'a.held', 'a.held_reason', 'a.host_id',
  'a.created_at', 'a.updated_at', 's.process_status', 's.health_status', 's.recovery_status', 's.pid', 's.start_time',
  's.last_heartbeat', 's.last_error', 's.reported_status', 's.uptime_s',
];

/**
 * Starts beyond the first, from the partial index on process_started history rows (one index
 * probe per agent): what the fleet table's restart column and Prometheus count.
 */
const RESTARTS_SQL =
  "(SELECT GREATEST(count(*) - 1, 0)::int FROM agent_status_history h WHERE h.agent_id = a.id AND h.event_type = 'process_started') AS restart_count";

/** The list's filters; which of them apply names the statement. */
const LIST_FILTERS: Array<{ key: string; applies: (f: AgentFilter) => boolean; apply: (query: Knex.QueryBuilder, f: AgentFilter) => void }> = [
  { key: 'type', applies: (f) => !!f.type, apply: (query, f) => query.where('a.type', f.type!) },
  { key: 'status', applies: (f) => !!f.status, apply: (query, f) => query.where('s.process_status', f.status!) },
  { key: 'health', applies: (f) => !!f.health, apply: (query, f) => query.where('s.health_status', f.health!) },
  { key: 'host', applies: (f) => !!f.hostId, apply: (query, f) => query.where('a.host_id', f.hostId!) },
  { key: 'desired', applies: (f) => !!f.desiredState, apply: (query, f) => query.where('a.desired_state', f.desiredState!) },
  { key: 'q', applies: (f) => !!f.q, apply: (query, f) => query.whereILike('a.name', `%${escapeLike(f.q!)}%`) },
  {
    key: 'labels',
    applies: (f) => !!f.labels && Object.keys(f.labels).length > 0,
    apply: (query, f) => query.whereRaw('a.labels @> ?::jsonb', [JSON.stringify(f.labels)]),
  },
  {
    key: 'after',
    applies: (f) => !!f.after,
    apply: (query, f) => query.whereRaw('(a.created_at, a.id) > (?::timestamptz, ?)', [f.after!.created_at, f.after!.id]),
  },
];

export function agentsRepo(q: Queryable) {
  const base = (name: string) =>
    q('agents as a')
      .join('agent_status as s', 's.agent_id', 'a.id')
      .select([...COLUMNS, q.raw(RESTARTS_SQL)])
      .options(prepared(name, { isoTimestamps: true }));
  function listQuery(f: AgentFilter): Knex.QueryBuilder {
    const used = LIST_FILTERS.filter((filter) => filter.applies(f));
    const query = base(`agents_list_${used.map((filter) => filter.key).join('_') || 'all'}`)
      .orderBy([{ column: 'a.created_at' }, { column: 'a.id' }])
      .limit(f.limit + 1);
    for (const filter of used) filter.apply(query, f);
    return query;
  }

  return {
    async insert(agent: NewAgent, initialStatus: string): Promise<void> {
      await q('agents').insert({
        ...agent,
        subscribed_topics: JSON.stringify(agent.subscribed_topics),
        labels: JSON.stringify(agent.labels),
      });
      await q('agent_status').insert({ agent_id: agent.id, process_status: initialStatus, health_status: 'unknown', recovery_status: 'none' });
    },

    async findById(id: string): Promise<AgentRow | undefined> {
      return base('agent_by_id').where('a.id', id).first();
    },

    async findByName(name: string): Promise<AgentRow | undefined> {
      return base('agent_by_name').where('a.name', name).first();
    },

    /** The registered agents of one host and those of no host (for judging that host's packages). */
    ofHost: (hostId: string): Promise<Array<{ id: string; name: string; type: string; version: string; host_id: string | null }>> =>
      q('agents')
        .where((w) => w.where({ host_id: hostId }).orWhereNull('host_id'))
        .select('id', 'name', 'type', 'version', 'host_id')
        // An agent of this host wins over a host-less one of the same name.
        .orderByRaw('host_id IS NULL'),

    /** Keyset page ordered by (created_at, id); returns up to limit+1 rows so the caller knows if there is more. */
    async list(f: AgentFilter): Promise<AgentRow[]> {
      return listQuery(f);
    },

    /** The list's query, not yet run (the API benchmark times the bare driver with its SQL). */
    listQuery,

    async update(id: string, changes: AgentChanges): Promise<boolean> {
      const row: Record<string, unknown> = { updated_at: q.fn.now(3) };
      if (changes.version !== undefined) row.version = changes.version;
      if (changes.description !== undefined) row.description = changes.description;
      if (changes.findings_topic !== undefined) row.findings_topic = changes.findings_topic;
      if (changes.subscribed_topics !== undefined) row.subscribed_topics = JSON.stringify(changes.subscribed_topics);
      if (changes.labels !== undefined) row.labels = JSON.stringify(changes.labels);
      if (changes.disabled !== undefined) row.disabled = changes.disabled;
      return (await q('agents').where({ id }).update(row)) > 0;
    },

    async delete(id: string): Promise<boolean> {
      return (await q('agents').where({ id }).delete()) > 0;
    },

    async exists(id: string): Promise<boolean> {
      return (await q('agents').where({ id }).first('id')) !== undefined;
    },
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
