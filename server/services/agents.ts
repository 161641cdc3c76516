// Agent records: registration, listing, updates and removal. Owns the transactions.
import type { Knex } from 'knex';
import type { Database } from '../db/database.js';
import { statusHistoryRepo } from '../db/status-history.repo.js';
import { type AgentChanges, type AgentFilter, type AgentRow, agentsRepo } from '../db/agents.repo.js';
import { AgentNotFound, Conflict } from '../errors.js';
import { newAgentId } from '../domain/identifiers.js';
import { type Page, toPage } from '../http/cursor.js';
import { isKnownReportedStatus } from '../broker/protocol.js';

export interface AgentView {
  id: string;
  agent_id: string;
  agent_name: string;
  agent_version: string;
  agent_type: string;
  description: string | null;
  subscribed_topics: string[];
  findings_topic: string | null;
  labels: Record<string, string>;
  disabled: boolean;
  /** What should be: `running` or `stopped` (written only by intent). */
  desired_state: string;
  /** Recovery is spent: the agent should run but is not started again until an operator acts or its config or package changes. */
  held: boolean;
  held_reason: string | null;
  /** The host whose supervisor runs the agent (null for agents that run on their own). */
  host_id: string | null;
  status: string;
  health: string;
  recovery: string;
  pid: number | null;
  start_time: string | null;
  last_heartbeat: string | null;
  last_error: string | null;
  /** What the agent last said about itself (heartbeat or status message). */
  reported_status: string | null;
  /** Whether the reported word is one the protocol defines (ready, degraded, stopping); null when nothing was reported. */
  reported_status_known: boolean | null;
  uptime_s: number | null;
  /** Process starts after the first one. */
  restart_count: number;
  created_at: string;
  updated_at: string;
}

export interface NewAgentInput {
  agent_name: string;
  agent_version: string;
  agent_type: string;
  description?: string | null;
  subscribed_topics?: string[];
  findings_topic?: string | null;
  labels?: Record<string, string>;
}

/** Where a registration came from, for the status history. */
export interface AgentOrigin {
  source: 'api' | 'scanner' | 'discovery_token';
  actor?: string;
  /** Package folder, for scanner registrations. */
  package?: string;
  /** Host whose supervisor found the package. */
  hostId?: string;
  /** What should be from the start (autostart: running). */
  desiredState?: 'running' | 'stopped';
}

export type AgentUpdate = Partial<Pick<NewAgentInput, 'agent_version' | 'description' | 'subscribed_topics' | 'findings_topic' | 'labels'> & { disabled: boolean }>;

/**
 * What other parts do when an agent goes away or is disabled: revoke its NATS user, stop its
 * process. Awaited in order before the change is answered.
 */
export interface AgentHooks {
  beforeRemove: Array<(id: string) => Promise<void>>;
  afterDisable: Array<(id: string) => Promise<void>>;
  afterEnable: Array<(id: string) => Promise<void>>;
}

export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function presentAgent(row: AgentRow): AgentView {
  return {
    id: row.id,
    agent_id: row.id,
    agent_name: row.name,
    agent_version: row.version,
    agent_type: row.type,
    description: row.description,
    subscribed_topics: row.subscribed_topics,
    findings_topic: row.findings_topic,
    labels: row.labels,
    disabled: row.disabled,
    desired_state: row.desired_state,
    held: row.held,
    held_reason: row.held_reason,
    host_id: row.host_id,
    status: row.process_status,
    health: row.health_status,
    recovery: row.recovery_status,
    pid: row.pid,
    start_time: row.start_time,
    last_heartbeat: row.last_heartbeat,
    last_error: row.last_error,
    reported_status: row.reported_status,
    reported_status_known: row.reported_status === null ? null : isKnownReportedStatus(row.reported_status),
    uptime_s: row.uptime_s,
    restart_count: row.restart_count ?? 0,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type AgentService = ReturnType<typeof createAgentService>;

export function createAgentService({ db }: { db: Database }) {
  const repo = agentsRepo(db.knex);
  const hooks: AgentHooks = { beforeRemove: [], afterDisable: [], afterEnable: [] };

  async function get(id: string): Promise<AgentView> {
    const row = await repo.findById(id);
    if (!row) throw new AgentNotFound(id);
    return presentAgent(row);
  }

  return {
    get,
    hooks,

    /**
     * Registers an agent; `inTransaction` runs inside the same transaction (e.g. consuming a
     * discovery token), so that both happen or neither does.
     */
    async create(input: NewAgentInput, origin: AgentOrigin = { source: 'api' }, inTransaction?: (trx: Knex.Transaction, id: string) => Promise<void>): Promise<AgentView> {
      const id = newAgentId(input.agent_type);
      try {
        await db.knex.transaction(async (trx) => {
          await inTransaction?.(trx, id);
          await agentsRepo(trx).insert(
            {
              id,
              name: input.agent_name,
              type: input.agent_type,
              version: input.agent_version,
              description: input.description ?? null,
              subscribed_topics: input.subscribed_topics ?? [],
              findings_topic: input.findings_topic ?? null,
              labels: input.labels ?? {},
              host_id: origin.hostId ?? null,
              desired_state: origin.desiredState ?? 'stopped',
            },
            'registered',
          );
          const details = {
            source: origin.source, ...(origin.actor ? { actor: origin.actor } : {}), ...(origin.package ? { package: origin.package } : {}), ...(origin.hostId ? { host_id: origin.hostId } : {}),
          };
          const history = statusHistoryRepo(trx);
          if (origin.source === 'scanner') await history.append({ agent_id: id, event_type: 'discovered', from_status: null, to_status: 'discovered', details });
          await history.append({
            agent_id: id,
            event_type: 'registered',
            from_status: origin.source === 'scanner' ? 'discovered' : null,
            to_status: 'registered',
            details,
          });
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') {
          throw new Conflict('agent_exists', `An agent named ${JSON.stringify(input.agent_name)} is already registered`, {
            agent_name: input.agent_name,
          });
        }
        throw err;
      }
      return get(id);
    },

    async list(filter: Omit<AgentFilter, 'after'> & { after?: AgentFilter['after'] }): Promise<Page<AgentView>> {
      const rows = await repo.list(filter);
      return toPage(rows, filter.limit, presentAgent, (r) => ({ c: r.created_at, i: r.id }));
    },

    async update(id: string, changes: AgentUpdate): Promise<AgentView> {
      const { agent_version, ...rest } = changes;
      const row: AgentChanges = { ...rest, ...(agent_version === undefined ? {} : { version: agent_version }) };
      const before = changes.disabled === undefined ? undefined : await repo.findById(id);
      if (!(await repo.update(id, row))) throw new AgentNotFound(id);
      if (before && changes.disabled !== before.disabled) {
        for (const hook of changes.disabled ? hooks.afterDisable : hooks.afterEnable) await hook(id);
      }
      return get(id);
    },

    async remove(id: string): Promise<void> {
      if (!(await repo.exists(id))) throw new AgentNotFound(id);
      for (const hook of hooks.beforeRemove) await hook(id);
      if (!(await repo.delete(id))) throw new AgentNotFound(id);
    },
  };
}
