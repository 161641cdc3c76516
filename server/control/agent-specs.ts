// What should be, as each host's supervisor gets it: the specs of the host's agents (desired
// state, held, operator intents, effective config and version, recovery policy, package, and
// the control plane's record of the status), answered page by page to a supervisor's sync
// request and pushed to the host after every change that commits. A push that is lost is healed
// by the host's next periodic sync.
import type { Logger } from 'pino';
import type { Msg } from '@nats-io/transport-node';
import type { Database } from '../db/database.js';
import { desiredStateRepo, type SpecRow } from '../db/desired-state.repo.js';
import { type AgentSpec, CONTROL_QUEUE, SyncRequest, type SyncReply } from '../broker/host-protocol.js';
import { hostIdFromControlSubject, subjects } from '../broker/subjects.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { ConfigService } from '../services/config.js';
import { DEFAULT_RECOVERY_POLICY, type RecoveryPolicy } from '../domain/recovery-policy.js';
import { isHealthState, isProcessState, isRecoveryState } from '../domain/statuses.js';
import { asDatabaseUnavailable } from '../db/database.js';

const PAGE = 200;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

const POLICY_FIELDS = Object.keys(DEFAULT_RECOVERY_POLICY) as Array<keyof RecoveryPolicy>;

function policyOf(row: SpecRow['policy']): RecoveryPolicy {
  if (!row) return { ...DEFAULT_RECOVERY_POLICY, notification_channels: [] };
  const out = { ...DEFAULT_RECOVERY_POLICY } as Record<string, unknown>;
  for (const f of POLICY_FIELDS) {
    const v = (row as unknown as Record<string, unknown>)[f];
    if (v === undefined || v === null) continue;
    out[f] = f === 'notification_channels' ? [...(v as string[])] : f === 'auto_recovery' ? Boolean(v) : Number(v);
  }
  return out as unknown as RecoveryPolicy;
}

export type AgentSpecs = ReturnType<typeof createAgentSpecs>;

export function createAgentSpecs(deps: {
  db: Database;
  config: ConfigService;
  connection: BrokerConnection;
  logger: Logger;
  /** Fleet-wide settings for supervisors (metrics_interval). */
  settings(): Promise<SyncReply['settings']>;
}) {
  const { logger } = deps;
  let unsubscribe: (() => void) | undefined;

  async function build(rows: SpecRow[]): Promise<AgentSpec[]> {
    const configs = await deps.config.effectiveMany(rows.map((r) => r.id));
    return rows.map((r) => {
      const eff = configs.get(r.id)!;
      return {
        agent_id: r.id,
        name: r.name,
        type: r.type,
        version: r.version,
        package_path: r.package_path,
        desired_state: r.desired_state === 'running' ? 'running' : 'stopped',
        held: r.held,
        disabled: r.disabled,
        restart_generation: r.restart_generation,
        recover_generation: r.recover_generation,
        intent: r.intent ?? null,
        config: eff.config,
        config_version: eff.version,
        policy: policyOf(r.policy),
        grant: { subscribed_topics: r.subscribed_topics ?? [], findings_topic: r.findings_topic },
        status: {
          process_status: isProcessState(r.process_status) ? r.process_status : 'registered',
          health_status: isHealthState(r.health_status) ? r.health_status : 'unknown',
          recovery_status: isRecoveryState(r.recovery_status) ? r.recovery_status : 'none',
          pid: r.pid,
          start_time: iso(r.start_time),
          config_version: r.config_version,
          config_since: iso(r.config_since),
          stable_config_version: r.stable_config_version,
          last_heartbeat: iso(r.last_heartbeat),
        },
      };
    });
  }

  /** One page of a host's specs. */
  async function page(hostId: string, cursor: string | null): Promise<SyncReply> {
    const rows = await desiredStateRepo(deps.db.knex).specRows(hostId, { after: cursor ?? undefined, limit: PAGE + 1 });
    const more = rows.length > PAGE;
    const agents = await build(rows.slice(0, PAGE));
    return { agents, next_cursor: more ? agents.at(-1)!.agent_id : null, settings: await deps.settings(), generated_at: new Date().toISOString() };
  }

  async function answerSync(msg: Msg): Promise<void> {
    const hostId = hostIdFromControlSubject(msg.subject);
    if (!hostId) return;
    try {
      const req = SyncRequest.parse(JSON.parse(new TextDecoder().decode(msg.data)));
      deps.connection.reply(msg, await page(hostId, req.cursor));
    } catch (err) {
      const unavailable = asDatabaseUnavailable(err);
      deps.connection.reply(msg, { error: { code: unavailable ? 'database_unavailable' : 'bad_request', message: (unavailable ?? (err as Error)).message } });
    }
  }

  return {
    page,
    build,
    /** Answers the supervisors' sync requests (one replica of the queue group answers each). */
    listen(): void {
      unsubscribe ??= deps.connection.subscribe(subjects.everyHost.sync, (msg) => void answerSync(msg), { queue: CONTROL_QUEUE });
    },

    /** Sends the current specs of these agents to their hosts (after a change committed). Never throws. */
    async push(agentIds: string[]): Promise<void> {
      if (agentIds.length === 0) return;
      try {
        const repo = desiredStateRepo(deps.db.knex);
        const byHost = new Map<string, string[]>();
        for (const id of new Set(agentIds)) {
          const host = await repo.hostOf(id);
          if (host) byHost.set(host, [...(byHost.get(host) ?? []), id]);
        }
        for (const [host, ids] of byHost) {
          const agents = await build(await repo.specRows(host, { ids }));
          const found = new Set(agents.map((a) => a.agent_id));
          deps.connection.publish(subjects.host(host).specs, { agents, removed: ids.filter((id) => !found.has(id)) });
        }
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'spec push not sent; the hosts sync on their own');
      }
    },

    /** Tells a host an agent is gone from it (deleted). */
    removed(hostId: string, agentId: string): void {
      try {
        deps.connection.publish(subjects.host(hostId).specs, { agents: [], removed: [agentId] });
      } catch {
        // the next sync says so
      }
    },

    stop(): void {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
