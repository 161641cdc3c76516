// Health of agents that run on their own (registered through the API, no host): judged by the
// control plane from their heartbeats, as the seed's rules say (healthy within 1.5 intervals,
// warning after one missed, critical after three). Agents of a host are judged by that host's
// supervisor, and only while their process runs.
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { desiredStateRepo } from '../db/desired-state.repo.js';
import { agentStatusRepo } from '../db/agent-status.repo.js';
import type { StatusService } from '../services/status.js';
import type { ConfigService } from '../services/config.js';
import { createHealthMonitor } from '../supervisor/health-monitor.js';
import { monitorConfigOf } from '../supervisor/monitor-config.js';

export function createExternalHealth(deps: { db: Database; status: StatusService; logger: Logger; config: ConfigService }) {
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
  const monitor = createHealthMonitor({
    status: deps.status,
    logger,
    onChange: () => undefined,
    ping: async () => undefined,
    broker: () => ({ down: false, downMsSince: () => 0 }),
    configOf: async (agentId) => monitorConfigOf(await configs.load(agentId)),
  });
  return {
    heartbeat(agentId: string, at: Date, metrics?: Record<string, number>): void {
      void isExternal(agentId).then((yes) => yes && monitor.heartbeat(agentId, at, metrics));
    },
    agentMetrics(agentId: string, body: { events_processed: number; events_failed: number } & Record<string, unknown>): void {
      void isExternal(agentId).then((yes) => yes && monitor.agentMetrics(agentId, body));
    },
    /** Picks up the external agents heard before this start, from their last heartbeat. */
    async start(): Promise<void> {
      const heard = await agentStatusRepo(db.knex).heard();
      for (const row of heard) {
        if (!(await isExternal(row.agent_id))) continue;
        const cfg = monitorConfigOf((await deps.config.effective(row.agent_id).catch(() => ({ config: {} }))).config);
        monitor.track(row.agent_id, { lastHeartbeatMs: row.last_heartbeat?.getTime(), health: row.health_status as never, config: cfg });
      }
    },
    forget(agentId: string): void {
      external.delete(agentId);
      monitor.forget(agentId);
    },
    async stop(): Promise<void> {
      await monitor.settle();
      monitor.stop();
    },
  };
}
