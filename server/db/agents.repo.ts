// agents + agent_status: the agent record and its current status, read together.
import type { Knex } from 'knex';
import type { AgentStatusRow } from './agent-status.repo.js';

export type Queryable = Knex | Knex.Transaction;

/** The status columns read with every agent (COLUMNS below). */
type StatusPart = Pick<
  AgentStatusRow,
  'process_status' | 'health_status' | 'recovery_status' | 'pid' | 'start_time' | 'last_heartbeat' | 'last_error' | 'reported_status' | 'reported_detail' | 'uptime_s'
>;

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
  created_at: Date;
  updated_at: Date;
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
}

export interface AgentFilter {
  type?: string;
  status?: string;
  health?: string;
  q?: string;
  labels?: Record<string, string>;
  after?: { created_at: string; id: string };
  limit: number;
}

export type AgentChanges = Partial<Pick<NewAgent, 'version' | 'description' | 'subscribed_topics' | 'findings_topic' | 'labels'> & { disabled: boolean }>;

const COLUMNS = [
  'a.id', 'a.name', 'a.type', 'a.version', 'a.description', 'a.subscribed_topics', 'a.findings_topic', 'a.labels', 'a.disabled',
  'a.created_at', 'a.updated_at', 's.process_status', 's.health_status', 's.recovery_status', 's.pid', 's.start_time',
  's.last_heartbeat', 's.last_error', 's.reported_status', 's.reported_detail', 's.uptime_s',
];

export function agentsRepo(q: Queryable) {
  const base = () => q('agents as a').join('agent_status as s', 's.agent_id', 'a.id').select(COLUMNS);
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
      return base().where('a.id', id).first();
    },

    async findByName(name: string): Promise<AgentRow | undefined> {
      return base().where('a.name', name).first();
    },

    /** Keyset page ordered by (created_at, id); returns up to limit+1 rows so the caller knows if there is more. */
    async list(f: AgentFilter): Promise<AgentRow[]> {
      const query = base().orderBy([{ column: 'a.created_at' }, { column: 'a.id' }]).limit(f.limit + 1);
      if (f.type) query.where('a.type', f.type);
      if (f.status) query.where('s.process_status', f.status);
      if (f.health) query.where('s.health_status', f.health);
      if (f.q) query.whereILike('a.name', `%${escapeLike(f.q)}%`);
      if (f.labels && Object.keys(f.labels).length > 0) query.whereRaw('a.labels @> ?::jsonb', [JSON.stringify(f.labels)]);
      if (f.after) query.whereRaw('(a.created_at, a.id) > (?::timestamptz, ?)', [f.after.created_at, f.after.id]);
      return query;
    },

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
