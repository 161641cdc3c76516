// The lifecycle port the routes call (issue 13): operator intents and the views of what is.
// An intent (start, stop, restart, recover) is checked against the agent's recorded status, then
// written in one transaction with its first history step and the desired state (and the audit
// row, written by the route's guard); the agent's host is told at once and reconciles. Nothing
// here runs a process: the host's supervisor is reached over NATS only, in every role. The views
// (status, health, fleet) read what the supervisors observed, from the database.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { agentStatusRepo, type StatusCountRow } from '../db/agent-status.repo.js';
import { desiredStateRepo, type IntentRecord } from '../db/desired-state.repo.js';
import { packagesRepo } from '../db/packages.repo.js';
import { hostsRepo } from '../db/hosts.repo.js';
import { AgentNotFound } from '../errors.js';
import { iso } from './agents.js';
import type { ConfigService } from './config.js';
import type { StatusService } from './status.js';
import type { BrokerHealth } from '../broker/index.js';
import type { BrokerConnection } from '../broker/connection.js';
import { ApplyReply, ErrorReply } from '../broker/host-protocol.js';
import { subjects } from '../broker/subjects.js';
import { firstStepOf, isProcessState, targetOf, type LifecycleAction, type ProcessState } from '../domain/state-machine.js';
import { InvalidTransition, NotStartable, RecoveryInProgress } from '../domain/lifecycle-errors.js';
import { DEFAULT_INTERVAL_S } from '../supervisor/health-monitor.js';
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

export interface IntentCause {
  actor: string;
  correlation_id?: string | null;
}

export interface LifecycleDeps {
  db: Database;
  config: ConfigService;
  status: StatusService;
  connection: BrokerConnection;
  logger: Logger;
  broker: () => Promise<BrokerHealth>;
  /** Sends the agent's new spec to its host (after the change committed). */
  push(agentIds: string[]): Promise<void>;
  /** This process's own supervisor (role all), for the fleet view's dependencies. */
  localSupervisor?: () => { status: 'ok' | 'degraded' | 'down'; latency_ms: number; [k: string]: unknown } | undefined;
}

export type ApplyResult = ApplyReply;

export type LifecycleService = ReturnType<typeof createLifecycleService>;

export function createLifecycleService(deps: LifecycleDeps) {
  const { db, config, status, logger } = deps;
  const repo = () => agentStatusRepo(db.knex);

  async function row(agentId: string) {
    const r = await repo().get(agentId);
    if (!r) throw new AgentNotFound(agentId);
    return r;
  }

  async function hostStatus(hostId: string | null): Promise<'up' | 'down' | 'unknown' | null> {
    if (!hostId) return null;
    const h = await hostsRepo(db.knex).get(hostId);
    return (h?.status as 'up' | 'down' | 'unknown' | undefined) ?? 'unknown';
  }

  /** Why the agent cannot be started, if it cannot: no package on its host, disabled, command not runnable there. */
  async function requireStartable(agentId: string): Promise<void> {
    const agent = await desiredStateRepo(db.knex).get(agentId);
    if (!agent) throw new AgentNotFound(agentId);
    if (agent.disabled) throw new NotStartable('agent_disabled', `Agent ${agentId} is disabled; enable it before starting it`);
    const pkg = await packagesRepo(db.knex).byAgent(agentId);
    if (!pkg || !agent.host_id) {
      throw new NotStartable(
        'package_not_found',
        `Agent ${agentId} has no registered package on any host; the supervisor starts packaged agents only (agents registered through the API run on their own)`,
      );
    }
    if (pkg.launch_error) throw new NotStartable('command_not_runnable', `The command of package ${pkg.path} cannot be run on host ${agent.host_id}: ${pkg.launch_error}`, { command: pkg.fields.AGENT_COMMAND ?? null });
  }

  /** Records an operator's action as intent; answers whether the agent's host is up. */
  async function request(agentId: string, action: LifecycleAction, cause: IntentCause): Promise<{ host_status: string | null }> {
    if (action !== 'stop') await requireStartable(agentId);
    const intent: IntentRecord = { action, actor: cause.actor, correlation_id: cause.correlation_id ?? null, at: new Date().toISOString() };
    const hostId = await status.inTransaction(async (w) => {
      const agent = await desiredStateRepo(w.trx).lock(agentId);
      if (!agent) throw new AgentNotFound(agentId);
      const current = (await w.lock(agentId)).process_status as ProcessState;
      const step = isProcessState(current) ? firstStepOf(action, current) : undefined;
      if (!step) throw new InvalidTransition(current, targetOf(action), action);
      const details = { cause: 'operator', action, actor: cause.actor, ...(cause.correlation_id ? { correlation_id: cause.correlation_id } : {}) };
      await w.transition(agentId, { to: step, event: step === 'stopping' ? 'stop_requested' : 'start_requested', details, action });
      await desiredStateRepo(w.trx).set(agentId, {
        desired_state: action === 'stop' ? 'stopped' : 'running',
        intent,
        ...(action === 'stop' ? {} : { held: false, held_reason: null }),
        bumpRestart: action === 'restart',
      });
      return agent.host_id;
    });
    await deps.push([agentId]);
    return { host_status: await hostStatus(hostId) };
  }

  return {
    requestStart: (agentId: string, cause: IntentCause) => request(agentId, 'start', cause),
    requestStop: (agentId: string, cause: IntentCause) => request(agentId, 'stop', cause),
    requestRestart: (agentId: string, cause: IntentCause) => request(agentId, 'restart', cause),
    requireStartable,
    hostStatus,

    /** POST .../recovery: a manual recovery (the host runs it); 409 while one runs or is scheduled. */
    async triggerRecovery(agentId: string, cause: IntentCause): Promise<void> {
      const r = await row(agentId);
      const state = r.recovery_state as { in_progress?: boolean; next_attempt_at?: string | null } | null;
      if (r.recovery_status === 'in_progress' && state?.in_progress) throw new RecoveryInProgress(agentId, state.next_attempt_at ? 'scheduled' : 'running');
      await requireStartable(agentId);
      const intent: IntentRecord = { action: 'recover', actor: cause.actor, correlation_id: cause.correlation_id ?? null, at: new Date().toISOString() };
      await db.knex.transaction(async (trx) => {
        if (!(await desiredStateRepo(trx).lock(agentId))) throw new AgentNotFound(agentId);
        await desiredStateRepo(trx).set(agentId, { desired_state: 'running', held: false, held_reason: null, intent, bumpRecover: true });
      });
      await deps.push([agentId]);
      // The answer shows the recovery in progress when the host took it up in time.
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        if ((await row(agentId)).recovery_status === 'in_progress') return;
        await new Promise((res) => setTimeout(res, 50));
      }
    },

    /** Asks the agent's host to send its running process the config version now in force; answers what the agent did. */
    async applyConfig(agentId: string): Promise<ApplyResult> {
      const agent = await desiredStateRepo(db.knex).get(agentId);
      if (!agent) throw new AgentNotFound(agentId);
      const eff = await config.effective(agentId);
      const r = await row(agentId);
      if (!agent.host_id || (r.process_status !== 'running' && r.process_status !== 'degraded')) {
        return { status: 'not_running', running_version: r.pid ? r.config_version : null };
      }
      await deps.push([agentId]);
      try {
        const raw = await deps.connection.request(subjects.host(agent.host_id).apply, { agent_id: agentId, version: eff.version }, 8000);
        const refused = ErrorReply.safeParse(raw);
        if (refused.success) return { status: 'unanswered', error: refused.data.error.message, running_version: r.config_version };
        return ApplyReply.parse(raw);
      } catch (err) {
        logger.debug({ agentId, err: (err as Error).message }, 'the host did not answer the apply request');
        return { status: 'unanswered', error: `host ${agent.host_id} did not answer (${(err as Error).message}); the agent gets the new version when its host reconciles`, running_version: r.config_version };
      }
    },

    async status(agentId: string) {
      const r = await row(agentId);
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
        uptime_s: live && r.start_time ? Math.round((Date.now() - r.start_time.getTime()) / 10) / 100 : r.uptime_s,
        reported_status: r.reported_status,
        exit_code: r.exit_code,
        exit_signal: r.exit_signal,
        config_version: r.config_version,
        stable_config_version: r.stable_config_version,
        adopted: live && r.adopted,
        metrics: r.pid ? r.latest_metrics ?? {} : {},
      };
    },

    async health(agentId: string) {
      const r = await row(agentId);
      const cfg = (await config.effective(agentId)).config;
      const interval = typeof cfg.heartbeat_interval === 'number' && cfg.heartbeat_interval > 0 ? cfg.heartbeat_interval : DEFAULT_INTERVAL_S;
      return {
        agent_id: agentId,
        health: r.health_status,
        reasons: r.health_status === 'healthy' ? [] : (r.health_reasons ?? []),
        last_heartbeat: iso(r.last_heartbeat),
        heartbeat_interval: interval,
        metrics: r.pid ? r.latest_metrics ?? {} : {},
      };
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
      const b = await deps.broker().catch((err: Error) => ({ status: 'down' as const, latency_ms: null, error: err.message }) as Partial<BrokerHealth>);
      const hosts = await hostsRepo(db.knex).list();
      const up = hosts.filter((h) => h.status === 'up').length;
      const supervisor = deps.localSupervisor?.() ?? {
        status: hosts.length === 0 ? ('degraded' as const) : up === hosts.length ? ('ok' as const) : up > 0 ? ('degraded' as const) : ('down' as const),
        latency_ms: 0,
        hosts: hosts.length,
        hosts_up: up,
      };
      return {
        agents,
        by_type: byType,
        by_label: byLabel,
        dependencies: {
          database,
          broker: { status: b.status, latency_ms: b.latency_ms ?? null, ...(b.error ? { error: b.error } : {}), ...(b.mode ? { mode: b.mode, connection: b.connection } : {}) },
          supervisor: { ...supervisor, hosts: hosts.length, hosts_up: up },
        },
        generated_at: new Date().toISOString(),
      };
    },
  };
}
