// Read side of the lifecycle: an agent's status (process, health, recovery, pid, latest
// metrics), its health with the reasons, and the fleet-wide aggregation by status, agent type
// and label with the state of the AMS's dependencies.
import type { Database } from '../db/database.js';
import { agentStatusRepo, type StatusCountRow } from '../db/agent-status.repo.js';
import { AgentNotFound } from '../errors.js';
import { iso } from './agents.js';
import type { ConfigService } from './config.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { monitorConfigOf } from '../supervisor/supervisor.js';
import type { BrokerHealth } from '../broker/index.js';
import { dictionary } from '../domain/own.js';

export interface Counts {
  total: number;
  process: Record<string, number>;
  health: Record<string, number>;
  recovery: Record<string, number>;
}

const emptyCounts = (): Counts => ({ total: 0, process: dictionary(), health: dictionary(), recovery: dictionary() });

function add(c: Counts, r: StatusCountRow): void {
  c.total += r.n;
  c.process[r.process_status] = (c.process[r.process_status] ?? 0) + r.n;
  c.health[r.health_status] = (c.health[r.health_status] ?? 0) + r.n;
  c.recovery[r.recovery_status] = (c.recovery[r.recovery_status] ?? 0) + r.n;
}

export interface LifecycleDeps {
  db: Database;
  config: ConfigService;
  supervisor: Supervisor;
  broker: () => Promise<BrokerHealth>;
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;

export function createLifecycleService({ db, config, supervisor, broker }: LifecycleDeps) {
  const repo = () => agentStatusRepo(db.knex);

  async function row(agentId: string) {
    const r = await repo().get(agentId);
    if (!r) throw new AgentNotFound(agentId);
    return r;
  }

  return {
    async status(agentId: string) {
      const r = await row(agentId);
      const proc = supervisor.process(agentId);
      const view = supervisor.healthView(agentId);
      const live = r.process_status === 'running' || r.process_status === 'degraded';
      return {
        agent_id: agentId,
        process_status: r.process_status,
        health_status: r.health_status,
        recovery_status: r.recovery_status,
        pid: r.pid,
        start_time: iso(r.start_time),
        last_heartbeat: iso(r.last_heartbeat),
        last_error: r.last_error,
        uptime_s: live && proc ? Math.round((Date.now() - proc.startedAt.getTime()) / 10) / 100 : r.uptime_s,
        reported_status: r.reported_status,
        exit_code: r.exit_code,
        exit_signal: r.exit_signal,
        config_version: r.config_version,
        stable_config_version: r.stable_config_version,
        adopted: proc?.adopted ?? false,
        metrics: view?.metrics ?? {},
      };
    },

    async health(agentId: string) {
      const r = await row(agentId);
      const view = supervisor.healthView(agentId);
      if (view) return { ...view, health: r.health_status === view.health ? view.health : r.health_status, last_heartbeat: view.last_heartbeat ?? iso(r.last_heartbeat) };
      const cfg = monitorConfigOf((await config.effective(agentId)).config);
      return { agent_id: agentId, health: r.health_status, reasons: [], last_heartbeat: iso(r.last_heartbeat), heartbeat_interval: cfg.intervalS, metrics: {} };
    },

    async fleet() {
      const counts = await repo().counts();
      const agents = emptyCounts();
      for (const r of counts.all) add(agents, r);
      // Keyed by names users chose (an agent type may be `constructor`): no prototype to collide with.
      const byType = dictionary<Counts>();
      for (const r of counts.byType) add((byType[r.agent_type] ??= emptyCounts()), r);
      const byLabel = dictionary<Counts>();
      for (const r of counts.byLabel) add((byLabel[r.label] ??= emptyCounts()), r);
      const started = performance.now();
      const database = await db.ping().then(
        (latency) => ({ status: 'ok' as const, latency_ms: Math.round(latency * 100) / 100 }),
        (err: Error) => ({ status: 'down' as const, latency_ms: Math.round((performance.now() - started) * 100) / 100, error: err.message }),
      );
      const b = await broker().catch((err: Error) => ({ status: 'down' as const, latency_ms: null, error: err.message }) as Partial<BrokerHealth>);
      return {
        agents,
        by_type: byType,
        by_label: byLabel,
        dependencies: {
          database,
          broker: { status: b.status, latency_ms: b.latency_ms ?? null, ...(b.error ? { error: b.error } : {}), ...(b.mode ? { mode: b.mode, connection: b.connection } : {}) },
          supervisor: supervisor.health(),
        },
        generated_at: new Date().toISOString(),
      };
    },
  };
}
