// Health of agents that run on their own (registered through the API, no host): judged by the
// control plane from their heartbeats, as the seed's rules say (healthy within 1.5 intervals,
// warning after one missed, critical after three). Agents of a host are judged by that host's
// supervisor, and only while their process runs. One API replica judges them at a time (an
// advisory lock), from every heartbeat: the ingest's queue group hands each replica only a share
// of an agent's heartbeats, which would read as missed ones.
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { AgentMessageHandlers } from '../broker/index.js';
import { createSingletonLock, SINGLETON_KEYS, type SingletonLock } from '../db/singleton-lock.js';
import type { Database } from '../db/database.js';
import { desiredStateRepo } from '../db/desired-state.repo.js';
import { agentStatusRepo } from '../db/agent-status.repo.js';
import type { StatusService } from '../services/status.js';
import type { ConfigService } from '../services/config.js';
import { createHealthMonitor } from '../supervisor/health-monitor.js';
import { monitorConfigOf } from '../supervisor/monitor-config.js';

export function createExternalHealth(deps: {
  db: Database;
  status: StatusService;
  logger: Logger;
  config: ConfigService;
  /** Every agent's heartbeats and metrics (no queue group) while this replica is the judge. */
  consume: (handlers: AgentMessageHandlers) => { stop(): void };
  /** Who judges (default: the cluster lock SINGLETON_KEYS.externalHealth). */
  lock?: SingletonLock;
}) {
  const { db, logger } = deps;
  // Agents heard of in the same turn (a fleet's first heartbeats after a start) are looked up
  // together: one query for their hosts, two for their configuration.
  const hosts = new DataLoader<string, string | null | undefined>(
    async (ids) => {
      const found = await desiredStateRepo(db.knex).hostsOf(ids);
      return ids.map((id) => (found.has(id) ? found.get(id) : undefined));
    },
    { cache: false, maxBatchSize: 1000 },
  );
  const configs = new DataLoader<string, Awaited<ReturnType<ConfigService['effectiveConfigs']>>[number]>((ids) => deps.config.effectiveConfigs(ids), { cache: false, maxBatchSize: 1000 });
  /** agent id -> whether it runs on its own (no host); a miss is looked up once. */
  const external = new Map<string, Promise<boolean>>();
  const isExternal = (agentId: string) => {
    let known = external.get(agentId);
    if (!known) {
      known = hosts.load(agentId).then((h) => h === null, () => false);
      external.set(agentId, known);
      if (external.size > 100_000) external.delete(external.keys().next().value!);
    }
    return known;
  };
  const makeMonitor = () =>
    createHealthMonitor({
      status: deps.status,
      logger,
      onChange: () => undefined,
      ping: async () => undefined,
      broker: () => ({ down: false, downMsSince: () => 0 }),
      configOf: async (agentId) => monitorConfigOf(await configs.load(agentId)),
    });
  let monitor: ReturnType<typeof makeMonitor> | undefined;
  let consumer: { stop(): void } | undefined;
  const lock = deps.lock ?? createSingletonLock(db, SINGLETON_KEYS.externalHealth, logger, { name: 'external health' });

  const heartbeat = (agentId: string, at: Date, metrics?: Record<string, number>) => {
    const m = monitor;
    if (m) void isExternal(agentId).then((yes) => yes && m === monitor && m.heartbeat(agentId, at, metrics));
  };
  const agentMetrics = (agentId: string, body: { events_processed: number; events_failed: number } & Record<string, unknown>) => {
    const m = monitor;
    if (m) void isExternal(agentId).then((yes) => yes && m === monitor && m.agentMetrics(agentId, body));
  };

  /** Picks up the external agents heard before, from their last heartbeat. */
  async function track(m: ReturnType<typeof makeMonitor>): Promise<void> {
    const heard = await agentStatusRepo(db.knex).heard();
    for (const row of heard) {
      if (!(await isExternal(row.agent_id))) continue;
      const cfg = monitorConfigOf((await deps.config.effective(row.agent_id).catch(() => ({ config: {} }))).config);
      if (m !== monitor) return;
      m.track(row.agent_id, { lastHeartbeatMs: row.last_heartbeat?.getTime(), health: row.health_status as never, config: cfg });
    }
  }

  function release(): void {
    consumer?.stop();
    consumer = undefined;
    const m = monitor;
    monitor = undefined;
    m?.stop();
  }

  return {
    /** Starts judging when this replica holds the lock (at once on PGlite), and stops when it loses it. */
    start(): void {
      lock.start(
        () => {
          const m = makeMonitor();
          monitor = m;
          consumer = deps.consume({
            heartbeat: (msg) => heartbeat(msg.agentId, msg.receivedAt, msg.body.metrics),
            metrics: (msg) => agentMetrics(msg.agentId, msg.body),
          });
          track(m).catch((err) => logger.warn({ err: (err as Error).message }, 'external agents heard before could not be read; judged from their next heartbeat'));
        },
        release,
      );
    },
    forget(agentId: string): void {
      external.delete(agentId);
      monitor?.forget(agentId);
    },
    async stop(): Promise<void> {
      await lock.stop();
      await monitor?.settle();
      release();
    },
  };
}
