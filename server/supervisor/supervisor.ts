// The supervisor: runs agent packages as processes and keeps their status true. Lifecycle
// operations (start, stop, restart), unexpected exits, health changes and recovery actions
// of one agent run one at a time in that agent's queue; every status change goes through the
// status service. It also adopts (or stops) processes an earlier AMS left running, starts
// `autostart` agents, stops agents whose package went away, pushes runtime configuration to
// running agents, and stops every agent gracefully when the AMS stops.
import path from 'node:path';
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { configRepo } from '../db/config.repo.js';
import { type AgentStatusRow, agentStatusRepo } from '../db/agent-status.repo.js';
import { AgentNotFound, AgentUnreachable, BrokerUnavailable } from '../errors.js';
import type { EventBus } from '../events/bus.js';
import type { Broker } from '../broker/index.js';
import { subjects } from '../broker/subjects.js';
import { ControlReply } from '../broker/protocol.js';
import type { AgentService } from '../services/agents.js';
import type { ConfigService } from '../services/config.js';
import type { CredentialsService } from '../services/credentials.js';
import type { IssuedCredentials } from '../services/registration.js';
import type { ProcessChange, StatusService } from '../services/status.js';
import type { ConfigMap } from '../domain/agent-config.js';
import { readPackage } from '../scanner/package-reader.js';
import { locateAgentSdk } from '../agent-sdk/locate.js';
import { agentEnvironment, CommandError, resolveCommand } from './command.js';
import { NotStartable, RecoveryInProgress, InvalidTransition } from './errors.js';
import { canTransition, firstStepOf, isProcessState, targetOf, type LifecycleAction, type ProcessState } from './state-machine.js';
import { createRunRecords } from './run-records.js';
import { createLogSink } from './log-capture.js';
import { createProcessManager, type ExitInfo, type ManagedProcess } from './process-manager.js';
import { createHealthMonitor, DEFAULT_INTERVAL_S, type HealthChange, type MonitorConfig } from './health-monitor.js';
import { effectiveThresholds } from './health-rules.js';
import { createPolicyStore } from './policy-store.js';
import { createRecoveryEngine, type AttemptCause } from './recovery-engine.js';
import type { RecoveryPolicy } from './recovery-policy.js';
import { configDiff, crashLoopDecision, type GuardDecision } from './config-guard.js';

/** Why a lifecycle operation happens; goes into the history row's details. */
export type Cause =
  | { cause: 'operator'; action: LifecycleAction; actor: string; correlation_id?: string }
  | AttemptCause
  | { cause: 'autostart' | 'package_removed' | 'agent_removed' | 'agent_disabled' | 'ams_shutdown'; path?: string };

export interface SupervisorDeps {
  db: Database;
  logger: Logger;
  events: EventBus;
  status: StatusService;
  config: ConfigService;
  credentials: CredentialsService;
  agents: AgentService;
  scanner: { agentsDir: string; packageOf(agentId: string): Promise<{ path: string } | undefined> };
  broker: Broker;
  dataDir: string;
  /** The AMS's environment: PATH and HOME for agents, OPMAS_AGENT_SDK, OPMAS_NATS_TLS_CA. */
  env: NodeJS.ProcessEnv;
  /** Stop limits while the AMS itself stops (it must be done within its own shutdown limit). */
  shutdownLimits?: { graceMs: number; timeoutMs: number };
}

export type ApplyStatus = 'applied' | 'rejected' | 'unanswered' | 'not_running';
export interface ApplyResult {
  status: ApplyStatus;
  error?: string;
  /** The stored config version the running agent has (after this update when applied). */
  running_version?: number | null;
}

const DEFAULT_GRACE_S = 5;
const DEFAULT_TIMEOUT_S = 10;
const STOP_REQUEST_TIMEOUT_MS = 2000;
const STOP_RETRY_MS = 200;
const APPLY_TIMEOUT_MS = 5000;
const RELOAD_TIMEOUT_MS = 5000;
const OFFSET_SAVE_MS = 2000;
const LAUNCH_CACHE_MS = 30_000;
const REVOKE_BATCH_MS = 2000;
const REVOKE_FALLBACK_MS = 15_000;

const seconds = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback);

export function monitorConfigOf(config: ConfigMap): MonitorConfig {
  const interval = config.heartbeat_interval;
  return {
    intervalS: typeof interval === 'number' && Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_INTERVAL_S,
    thresholds: effectiveThresholds(config.thresholds),
  };
}

function describeExit(exit: ExitInfo, adopted: boolean): string {
  if (exit.signal) return `the process was killed by ${exit.signal}`;
  if (exit.code !== null) return `the process exited with code ${exit.code}`;
  return adopted ? 'the adopted process ended (its exit code cannot be known)' : 'the process ended';
}

export type Supervisor = ReturnType<typeof createSupervisor>;

export function createSupervisor(deps: SupervisorDeps) {
  const { db, logger, status, events, broker } = deps;
  const records = createRunRecords(deps.dataDir);
  const sink = createLogSink({ db, events, logger });
  const pm = createProcessManager({ records, sink, logger });
  const policies = createPolicyStore({ db });
  const queues = new Map<string, Promise<unknown>>();
  const offsetTimer = setInterval(() => pm.saveOffsets(), OFFSET_SAVE_MS);
  offsetTimer.unref();
  let shuttingDown = false;
  let started = false;
  // Broker outages as the AMS saw them (the last few), to tell lost heartbeats that the broker
  // explains from an agent that went quiet on its own.
  const outages: Array<{ from: number; to?: number }> = broker.connection.status() === 'connected' ? [] : [{ from: Date.now() }];
  const offBroker = broker.connection.onStatus((s) => {
    const open = outages.at(-1);
    if (s === 'connected') {
      if (open && open.to === undefined) open.to = Date.now();
    } else if (!open || open.to !== undefined) {
      outages.push({ from: Date.now() });
      if (outages.length > 50) outages.shift();
    }
    monitor.evaluateAll();
  });
  /** Milliseconds the broker was down since `sinceMs`. */
  const brokerDownMs = (sinceMs: number) => outages.reduce((sum, o) => sum + Math.max(0, (o.to ?? Date.now()) - Math.max(o.from, sinceMs)), 0);

  // Stale credentials are revoked in batches, once the new process has connected (its first
  // heartbeat) or ended: in host mode a revocation is a nats-server reload, which drops every
  // connection for a moment, and one that meets an agent's first connection fails it.
  const awaitingConnect = new Map<string, { keys: Set<string>; timer: NodeJS.Timeout }>();
  const staleReady = new Map<string, Set<string>>();
  let revokeTimer: NodeJS.Timeout | undefined;
  /** `keys` are stale now that the agent has a new one; they are revoked once the new process connected. */
  function markStale(agentId: string, keys: string[]): void {
    const pending = awaitingConnect.get(agentId);
    clearTimeout(pending?.timer);
    // Keys already due go back to waiting: they are revoked with these, after this process connected.
    const all = new Set([...(pending?.keys ?? []), ...(staleReady.get(agentId) ?? []), ...keys]);
    staleReady.delete(agentId);
    const timer = setTimeout(() => releaseStale(agentId), REVOKE_FALLBACK_MS);
    timer.unref();
    awaitingConnect.set(agentId, { keys: all, timer });
  }
  function releaseStale(agentId: string): void {
    const pending = awaitingConnect.get(agentId);
    if (!pending) return;
    clearTimeout(pending.timer);
    awaitingConnect.delete(agentId);
    if (pending.keys.size === 0) return;
    staleReady.set(agentId, new Set([...(staleReady.get(agentId) ?? []), ...pending.keys]));
    if (!revokeTimer) {
      revokeTimer = setTimeout(() => void revokeStale(), REVOKE_BATCH_MS);
      revokeTimer.unref();
    }
  }
  async function revokeStale(): Promise<void> {
    revokeTimer = undefined;
    const entries = [...staleReady].map(([agentId, keys]) => ({ agentId, keys: [...keys] }));
    staleReady.clear();
    if (entries.length === 0) return;
    await deps.credentials.revokeStale(entries, 'superseded by a new start').catch((err) => logger.warn({ err: (err as Error).message }, 'revoking older credentials failed'));
  }

  /** Runs `fn` after everything queued before it for this agent. */
  function run<T>(agentId: string, fn: () => Promise<T>): Promise<T> {
    const prev = queues.get(agentId) ?? Promise.resolve();
    const next = prev.then(fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    queues.set(agentId, tail);
    void tail.then(() => {
      if (queues.get(agentId) === tail) queues.delete(agentId);
    });
    return next;
  }

  const control = (agentId: string, body: unknown, timeoutMs: number) => broker.connection.request(subjects.agent(agentId).control, body, timeoutMs);

  /**
   * A control request that is sent again while nobody is subscribed (an agent reconnecting
   * after a broker blip: every revocation reloads nats-server), until `timeoutMs` is spent.
   */
  async function controlPatiently(agentId: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await control(agentId, body, Math.max(100, deadline - Date.now()));
      } catch (err) {
        // Only an agent that has been heard (it speaks the protocol) is waited for.
        const heard = monitor.view(agentId)?.last_heartbeat != null;
        const again = heard && ((err instanceof AgentUnreachable && err.message.includes('nobody is subscribed')) || err instanceof BrokerUnavailable);
        if (!again || Date.now() + STOP_RETRY_MS >= deadline) throw err;
        await new Promise((r) => setTimeout(r, STOP_RETRY_MS));
      }
    }
  }

  // Effective configs read together: every agent heard after an AMS start needs its own, at once.
  const configs = new DataLoader<string, ConfigMap>((ids) => deps.config.effectiveConfigs(ids), { cache: false, maxBatchSize: 1000 });

  const monitor = createHealthMonitor({
    status,
    logger,
    onChange: (change) => void run(change.agentId, () => onHealthChange(change)).catch((err) => logger.warn({ agentId: change.agentId, err: (err as Error).message }, 'health change handling failed')),
    async ping(agentId, timeoutMs) {
      const t0 = performance.now();
      try {
        await control(agentId, { action: 'ping' }, timeoutMs);
        return performance.now() - t0;
      } catch (err) {
        // No reply within the timeout is a response time of at least the timeout; no subscriber says nothing about speed.
        if (err instanceof AgentUnreachable && !err.message.includes('nobody is subscribed')) return performance.now() - t0;
        return undefined;
      }
    },
    broker: () => ({ down: outages.at(-1)?.to === undefined && outages.length > 0, downMsSince: brokerDownMs }),
    configOf: async (agentId) => monitorConfigOf(await configs.load(agentId)),
  });

  const engine = createRecoveryEngine({
    db,
    status,
    events,
    logger,
    policyOf: (id) => policies.policyOf(id),
    run,
    guard,
    healthyNow: (id) => monitor.health(id) === 'healthy' && pm.get(id) !== undefined,
    onStable: (id) =>
      void run(id, async () => {
        const row = await status.get(id);
        if (!row || row.config_version === null || row.stable_config_version === row.config_version || monitor.health(id) !== 'healthy') return;
        await status.setColumns(id, { stable_config_version: row.config_version });
      }).catch(() => undefined),
    actions: {
      async restart(agentId, cause) {
        const row = await requireStatus(agentId);
        if (canTransition(row.process_status as ProcessState, 'stopping')) await stopProcess(agentId, cause);
        await startProcess(agentId, cause);
      },
      async reconnect(agentId, waitMs) {
        if (broker.connection.status() !== 'connected' && !(await broker.connection.waitConnected(waitMs))) throw new Error('the broker did not come back');
        const reply = ControlReply.safeParse(await controlPatiently(agentId, { action: 'reload' }, RELOAD_TIMEOUT_MS));
        if (!reply.success || !reply.data.ok) throw new Error(`the agent refused to reload: ${reply.success ? reply.data.error : 'malformed reply'}`);
      },
      async rollback(agentId, decision, cause) {
        await rollbackConfig(agentId, decision);
        const row = await requireStatus(agentId);
        if (canTransition(row.process_status as ProcessState, 'stopping')) await stopProcess(agentId, cause);
        await startProcess(agentId, cause);
      },
      async giveUp(agentId, reason) {
        const row = await status.get(agentId);
        if (!row) return;
        const proc = pm.get(agentId);
        if (row.process_status === 'running' || row.process_status === 'degraded') {
          const outcome = proc ? await pm.stop(proc, { graceMs: 0, timeoutMs: 2000 }) : undefined;
          await status.transition(agentId, {
            to: 'failed',
            event: 'process_exited',
            details: { cause: 'recovery_failed', reason, ...(outcome ? { exit_code: outcome.exit.code, signal: outcome.exit.signal, escalation: outcome.escalation } : {}) },
            set: { pid: null, last_error: reason, exit_code: outcome?.exit.code ?? null, exit_signal: outcome?.exit.signal ?? null },
          });
          monitor.processEnded(agentId);
        } else {
          await status.setColumns(agentId, { last_error: reason });
        }
      },
    },
  });

  async function requireStatus(agentId: string): Promise<AgentStatusRow> {
    const row = await status.get(agentId);
    if (!row) throw new AgentNotFound(agentId);
    return row;
  }

  // How each agent's package is run, kept for a while: reading and resolving it is on the path of
  // every crash recovery. Dropped when the scanner reports any change to the agent's package.
  const launchCache = new Map<string, { at: number; cwd: string; command: string; resolved: ReturnType<typeof resolveCommand>; packagePath: string }>();

  async function launchOf(agentId: string) {
    const hit = launchCache.get(agentId);
    if (hit && Date.now() - hit.at < LAUNCH_CACHE_MS) return hit;
    const pkg = await deps.scanner.packageOf(agentId);
    if (!pkg) {
      throw new NotStartable(
        'package_not_found',
        `Agent ${agentId} has no registered package in the agents directory; the supervisor starts packaged agents only (agents registered through the API run on their own)`,
      );
    }
    const reading = readPackage(deps.scanner.agentsDir, pkg.path);
    if (!reading.agent) throw new NotStartable('package_not_found', `The package ${pkg.path} of agent ${agentId} cannot be used: ${reading.problems.join('; ')}`, { problems: reading.problems });
    const cwd = path.join(deps.scanner.agentsDir, pkg.path);
    try {
      const launch = { at: Date.now(), cwd, command: reading.agent.command, resolved: resolveCommand(reading.agent.command, cwd, deps.env.PATH ?? process.env.PATH), packagePath: pkg.path };
      launchCache.set(agentId, launch);
      return launch;
    } catch (err) {
      if (err instanceof CommandError) throw new NotStartable('command_not_runnable', `The command of package ${pkg.path} cannot be run: ${err.message}`, { command: reading.agent.command });
      throw err;
    }
  }

  /** What starting the agent needs: its package's command, resolved, in its folder. NotStartable otherwise. */
  async function prepareStart(agentId: string) {
    const [agent, launch] = await Promise.all([agentsRepo(db.knex).findById(agentId), launchOf(agentId).catch((err: unknown) => err as Error)]);
    if (!agent) throw new AgentNotFound(agentId);
    if (agent.disabled) throw new NotStartable('agent_disabled', `Agent ${agentId} is disabled; enable it before starting it`);
    if (launch instanceof Error) throw launch;
    return { ...launch, agent };
  }

  // A spare set of credentials per agent, issued in the background after each start, so that
  // the next start (a crash recovery above all) does not wait for key generation and signing.
  // It is used only if it was issued for the agent's current topics and is not revoked.
  const spares = new Map<string, Promise<{ issued: IssuedCredentials; grant: string } | undefined>>();
  const grantOf = (agent: { subscribed_topics: string[]; findings_topic: string | null }) => JSON.stringify([agent.subscribed_topics, agent.findings_topic]);
  function prepareSpare(agentId: string, grant: string): void {
    if (shuttingDown) return;
    const spare = deps.credentials.issueFor(agentId).then(
      (issued) => ({ issued, grant }),
      () => undefined,
    );
    spares.set(agentId, spare);
  }
  async function takeCreds(agentId: string, grant: string): Promise<IssuedCredentials> {
    const spare = spares.get(agentId);
    spares.delete(agentId);
    const s = spare ? await spare : undefined;
    if (s && s.grant === grant && !broker.issuer.isRevoked(s.issued.publicKey)) return s.issued;
    return deps.credentials.issueFor(agentId);
  }

  /**
   * registered|stopped|failed -> starting -> running, or -> failed when it cannot be spawned.
   * The process is spawned first and both transitions are recorded together once the OS runs it:
   * a start is on the path of every crash recovery, and the queue guarantees that nothing else
   * changes the agent's status meanwhile.
   */
  async function startProcess(agentId: string, cause: Cause, onAccepted?: () => void): Promise<ManagedProcess> {
    const row = await requireStatus(agentId);
    const current = row.process_status as ProcessState;
    const action = cause.cause === 'operator' ? cause.action : 'start';
    if (!canTransition(current, 'starting') || pm.get(agentId)) throw new InvalidTransition(current, 'starting', action);
    const [prep, effective] = await Promise.all([prepareStart(agentId), deps.config.effective(agentId)]);
    const requested: ProcessChange = { to: 'starting', event: 'start_requested', details: { ...cause, command: prep.command, config_version: effective.version }, action };
    const grant = grantOf(prep.agent);
    let proc: ManagedProcess;
    let creds: IssuedCredentials | undefined;
    try {
      creds = await takeCreds(agentId, grant);
      const credsFile = records.writeCreds(agentId, creds.creds);
      const env = agentEnvironment({
        agentId,
        natsUrl: broker.url ?? String(effective.config.nats_url ?? ''),
        credsFile,
        config: effective.config,
        agentSdk: locateAgentSdk(deps.env),
        amsEnv: { ...deps.env, PATH: deps.env.PATH ?? process.env.PATH, HOME: deps.env.HOME ?? process.env.HOME },
        tlsCa: deps.env.OPMAS_NATS_TLS_CA,
        node: prep.resolved.node,
      });
      proc = await pm.spawn({ agentId, file: prep.resolved.file, args: prep.resolved.args, cwd: prep.cwd, env, configVersion: effective.version });
    } catch (err) {
      const message = (err as Error).message;
      await status.transitions(agentId, [
        requested,
        { to: 'failed', event: 'process_exited', details: { ...cause, spawned: false, error: message }, set: { pid: null, last_error: `could not start: ${message}` } },
      ]);
      onAccepted?.();
      throw err;
    }
    const sameVersion = row.config_version === effective.version && row.config_since;
    try {
      await status.transitions(agentId, [
        requested,
        {
          to: 'running',
          event: 'process_started',
          details: { pid: proc.pid, command: prep.command, config_version: effective.version, ...(cause.cause === 'recovery' ? { recovery_attempt: cause.attempt } : {}) },
          set: {
            pid: proc.pid, start_time: proc.startedAt, last_error: null, exit_code: null, exit_signal: null, config_version: effective.version,
            config_since: sameVersion ? row.config_since : proc.startedAt,
          },
        },
      ]);
    } catch (err) {
      // The start could not be recorded: the process must not run unrecorded.
      await pm.stop(proc, { graceMs: 0, timeoutMs: 1000 });
      throw err;
    }
    onAccepted?.();
    monitor.processStarted(agentId, proc.startedAt, monitorConfigOf(effective.config));
    watchExit(proc);
    // Off the start path: every other live key of the agent is stale (revoked once this process
    // has connected), and the next start's credentials are made ready.
    const used = creds.publicKey;
    void deps.credentials
      .liveKeys(agentId)
      .then((keys) => {
        markStale(agentId, keys.filter((k) => k !== used));
        prepareSpare(agentId, grant);
      })
      .catch(() => undefined);
    return proc;
  }

  /**
   * The `stop` control request. An agent that has heartbeated is asked again until the grace
   * period ends (a broker blip must not turn a graceful stop into signals); one that never
   * connected gets its signal at once.
   */
  async function askStop(agentId: string, graceMs: number): Promise<boolean> {
    const deadline = Date.now() + graceMs;
    for (;;) {
      try {
        const reply = ControlReply.safeParse(await control(agentId, { action: 'stop' }, Math.max(100, Math.min(STOP_REQUEST_TIMEOUT_MS, deadline - Date.now()))));
        return reply.success && reply.data.ok;
      } catch {
        const heard = monitor.view(agentId)?.last_heartbeat != null;
        if (!heard || Date.now() + STOP_RETRY_MS >= deadline) return false;
        await new Promise((r) => setTimeout(r, STOP_RETRY_MS));
      }
    }
  }

  /** running|degraded -> stopping -> stopped: the stop request, SIGTERM after the grace period, SIGKILL after the timeout. */
  async function stopProcess(agentId: string, cause: Cause, onAccepted?: () => void, limits?: { graceMs: number; timeoutMs: number }): Promise<void> {
    const row = await requireStatus(agentId);
    const current = row.process_status as ProcessState;
    if (!canTransition(current, 'stopping')) throw new InvalidTransition(current, 'stopping', cause.cause === 'operator' ? cause.action : 'stop');
    await status.transition(agentId, { to: 'stopping', event: 'stop_requested', details: { ...cause } });
    onAccepted?.();
    const config = (await deps.config.effective(agentId).catch(() => undefined))?.config ?? {};
    let graceMs = seconds(config.stop_grace_period, DEFAULT_GRACE_S) * 1000;
    let timeoutMs = seconds(config.stop_timeout, DEFAULT_TIMEOUT_S) * 1000;
    if (limits) {
      graceMs = Math.min(graceMs, limits.graceMs);
      timeoutMs = Math.min(timeoutMs, limits.timeoutMs);
    }
    const proc = pm.get(agentId);
    const outcome = proc ? await pm.stop(proc, { graceMs, timeoutMs, ask: () => askStop(agentId, Math.min(graceMs, timeoutMs)) }) : undefined;
    await status.transition(agentId, {
      to: 'stopped',
      event: 'process_stopped',
      details: outcome
        ? { exit_code: outcome.exit.code, signal: outcome.exit.signal, graceful: outcome.escalation !== 'SIGKILL', escalation: outcome.escalation, stop_requested: outcome.asked, pid: proc!.pid }
        : { exit_code: null, signal: null, graceful: true, escalation: 'none', note: 'no process was running' },
      set: { pid: null, exit_code: outcome?.exit.code ?? null, exit_signal: outcome?.exit.signal ?? null },
    });
    monitor.processEnded(agentId);
  }

  function watchExit(proc: ManagedProcess): void {
    void proc.exited.then((exit) => {
      releaseStale(proc.agentId);
      if (proc.expected) return;
      void run(proc.agentId, () => handleExit(proc, exit)).catch((err) => logger.warn({ agentId: proc.agentId, err: (err as Error).message }, 'exit handling failed'));
    });
  }

  /** A process ended that nobody asked to stop: running|degraded -> failed, then recovery. */
  async function handleExit(proc: ManagedProcess, exit: ExitInfo): Promise<void> {
    const agentId = proc.agentId;
    if (proc.expected) return;
    const current = pm.get(agentId);
    if (current && current !== proc) return;
    const details = {
      pid: proc.pid, exit_code: exit.code, signal: exit.signal, uptime_s: Math.round((exit.at.getTime() - proc.startedAt.getTime()) / 10) / 100,
      ...(proc.adopted ? { adopted: true } : {}),
    };
    try {
      await status.transition(agentId, {
        to: 'failed', event: 'process_exited', details, from: ['running', 'degraded'],
        set: { pid: null, exit_code: exit.code, exit_signal: exit.signal, last_error: describeExit(exit, proc.adopted) },
      });
    } catch (err) {
      // Not running by the books (already stopped or failed): nothing to record; the agent may be gone too.
      if (err instanceof InvalidTransition || err instanceof AgentNotFound) return;
      throw err;
    }
    monitor.processEnded(agentId);
    if (!shuttingDown) void engine.onFailure(agentId, 'process_exit', details);
  }

  /** Health changed: a running agent that went critical is degraded (then recovered), one that came back runs again. */
  async function onHealthChange(change: HealthChange): Promise<void> {
    const agentId = change.agentId;
    if (!change.supervised || shuttingDown) return;
    const row = await status.get(agentId);
    if (!row) return;
    let p = row.process_status;
    const reasons = change.reasons.map((r) => ({ ...r }));
    if (change.to === 'critical' && p === 'running' && monitor.health(agentId) === 'critical') {
      await status.transition(agentId, { to: 'degraded', event: 'degraded', details: { health: 'critical', cause: change.cause, reasons }, from: ['running'] });
      p = 'degraded';
      const trigger = change.cause === 'resource_exhaustion' ? 'resource_exhaustion' : change.cause === 'dependency' ? 'dependency_failure' : 'health_critical';
      void engine.onFailure(agentId, trigger, { health: 'critical', reasons: reasons.map((r) => r.message) });
    } else if ((change.to === 'healthy' || change.to === 'warning') && p === 'degraded' && monitor.health(agentId) === change.to) {
      await status.transition(agentId, { to: 'running', event: 'recovered', details: { health: change.to, reasons }, from: ['degraded'] });
      p = 'running';
    }
    if (change.to === 'healthy' && p === 'running') engine.onHealthy(agentId, { stableBaselineMs: Date.now(), policy: await policies.policyOf(agentId) });
    else engine.onUnhealthy(agentId);
  }

  /** The crash-loop guard's verdict from the status row and the two stored versions. */
  async function guard(agentId: string, policy: RecoveryPolicy): Promise<GuardDecision> {
    const row = await status.get(agentId);
    if (!row) return { rollback: false, why: 'the agent is gone' };
    const versionConfig = async (v: number | null) => (v === null ? undefined : v === 0 ? {} : (await configRepo(db.knex).version({ agentId }, v))?.config);
    return crashLoopDecision({
      runningVersion: row.config_version,
      runningSinceMs: row.config_since?.getTime() ?? null,
      stableVersion: row.stable_config_version,
      runningConfig: await versionConfig(row.config_version),
      stableConfig: await versionConfig(row.stable_config_version),
      stableAfterS: policy.stable_after,
      nowMs: Date.now(),
    });
  }

  /** Stores the last good version's settings as a new version, records why and publishes the diff. */
  async function rollbackConfig(agentId: string, decision: Extract<GuardDecision, { rollback: true }>): Promise<void> {
    const row = await requireStatus(agentId);
    const from = row.config_version ?? 0;
    const load = async (v: number): Promise<ConfigMap> => (v === 0 ? {} : ((await configRepo(db.knex).version({ agentId }, v))?.config ?? {}));
    const [bad, good] = [await load(from), await load(decision.to)];
    const written = await deps.config.putAgent(agentId, good, 'supervisor', `automatic rollback to version ${decision.to}: ${decision.why}`);
    const diff = configDiff(bad, good);
    const details = { from_version: from, to_version: decision.to, new_version: written.version, reason: decision.why, diff };
    await status.note(agentId, 'config_rolled_back', details, { busEvent: { type: 'config.rolled_back', agent_id: agentId, version: written.version, details } });
  }

  /** An operator request: refused at once when the state machine says no, otherwise queued; resolves once accepted. */
  async function request(agentId: string, action: LifecycleAction, cause: Cause): Promise<void> {
    const row = await requireStatus(agentId);
    const current = row.process_status as ProcessState;
    if (!isProcessState(current) || firstStepOf(action, current) === undefined) throw new InvalidTransition(current, targetOf(action), action);
    if (action !== 'stop') await prepareStart(agentId);
    let accept!: () => void;
    let refuse!: (err: unknown) => void;
    const accepted = new Promise<void>((resolve, reject) => {
      accept = resolve;
      refuse = reject;
    });
    engine.cancel(agentId, `the operator asked to ${action} the agent`);
    const op = run(agentId, async () => {
      const now = await requireStatus(agentId);
      const state = now.process_status as ProcessState;
      if (action === 'start') await startProcess(agentId, cause, accept);
      else if (action === 'stop') await stopProcess(agentId, cause, accept);
      else if (canTransition(state, 'stopping')) {
        await stopProcess(agentId, cause, accept);
        await startProcess(agentId, cause);
      } else await startProcess(agentId, cause, accept);
    });
    op.then(accept, (err) => {
      refuse(err);
      logger.warn({ agentId, action, err: (err as Error).message }, 'lifecycle operation failed');
    });
    await accepted;
  }

  /** Stops the agent if it runs (agent removed, disabled, package removed); resolves when it is stopped. */
  async function stopIfLive(agentId: string, cause: Cause): Promise<void> {
    engine.cancel(agentId, `stopped: ${cause.cause}`);
    await run(agentId, async () => {
      const row = await status.get(agentId);
      if (row && canTransition(row.process_status as ProcessState, 'stopping')) await stopProcess(agentId, cause);
    });
  }

  /** Sends the agent's new effective config to its running process and records the answer on the version. */
  async function applyConfig(agentId: string): Promise<ApplyResult> {
    const effective = await deps.config.effective(agentId);
    const row = await requireStatus(agentId);
    const proc = pm.get(agentId);
    if (!proc || (row.process_status !== 'running' && row.process_status !== 'degraded') || effective.version < 1) {
      monitor.configure(agentId, monitorConfigOf(effective.config));
      return { status: 'not_running', running_version: proc ? row.config_version : null };
    }
    const version = effective.version;
    let result: ApplyResult;
    try {
      const raw = await controlPatiently(agentId, { action: 'config.update', version, config: effective.config }, APPLY_TIMEOUT_MS);
      const reply = ControlReply.safeParse(raw);
      result = reply.success && reply.data.ok
        ? { status: 'applied', running_version: version }
        : { status: 'rejected', error: reply.success ? (reply.data.error ?? 'refused without a reason') : 'the reply is not {ok, error?}', running_version: row.config_version };
    } catch (err) {
      if (!(err instanceof AgentUnreachable) && !(err instanceof BrokerUnavailable)) throw err;
      result = { status: 'unanswered', error: `${(err as Error).message}; the agent keeps running version ${row.config_version ?? 0}`, running_version: row.config_version };
    }
    await configRepo(db.knex).markApplied(agentId, version, result.status === 'applied' ? 'applied' : result.status === 'rejected' ? 'rejected' : 'unanswered', result.error ?? null);
    if (result.status === 'applied') {
      await status.note(agentId, 'config_applied', { version, previous_version: row.config_version }, {
        statuses: 'process',
        set: { config_version: version, config_since: new Date() },
        busEvent: { type: 'config.applied', agent_id: agentId, version, details: { previous_version: row.config_version } },
      });
      monitor.configure(agentId, monitorConfigOf(effective.config));
      // A new version has to prove itself: the stability clock starts over.
      engine.onUnhealthy(agentId);
      if (monitor.health(agentId) === 'healthy') engine.onHealthy(agentId, { stableBaselineMs: Date.now(), policy: await policies.policyOf(agentId) });
    } else {
      const details = { version, error: result.error, running_version: row.config_version, ...(result.status === 'unanswered' ? { unanswered: true } : {}) };
      await status.note(agentId, 'config_rejected', details, { statuses: 'process', busEvent: { type: 'config.rejected', agent_id: agentId, version, details } });
    }
    return result;
  }

  /** At start: adopt the processes an earlier AMS left running (or stop them), settle stale statuses, recover. */
  async function reconcile(): Promise<void> {
    const liveStates = ['starting', 'running', 'degraded', 'stopping'];
    const adopted = new Set<string>();
    for (const record of records.all()) {
      const agentId = record.agent_id;
      const row = await status.get(agentId);
      const agent = row ? await agentsRepo(db.knex).findById(agentId) : undefined;
      const pkg = agent ? await deps.scanner.packageOf(agentId) : undefined;
      const keep = row && agent && !agent.disabled && pkg && ['starting', 'running', 'degraded'].includes(row.process_status);
      if (keep) {
        const proc = pm.adopt(record);
        if (!proc) {
          records.remove(agentId);
          continue;
        }
        adopted.add(agentId);
        if (row.process_status === 'starting') {
          await status.transition(agentId, { to: 'running', event: 'process_started', details: { pid: proc.pid, adopted: true }, set: { pid: proc.pid, start_time: proc.startedAt } });
        }
        await status.note(agentId, 'adopted', { pid: proc.pid, start_time: proc.startedAt.toISOString(), config_version: proc.configVersion }, {
          statuses: 'process',
          set: { pid: proc.pid, start_time: proc.startedAt, ...(proc.configVersion !== null ? { config_version: proc.configVersion } : {}) },
          busEvent: { type: 'status.changed', agent_id: agentId, from: 'running', to: 'running', event_type: 'adopted', details: { pid: proc.pid } },
        });
        // Heartbeats sent while no AMS ran were lost: health starts over from the adoption.
        const config = (await deps.config.effective(agentId)).config;
        monitor.processStarted(agentId, new Date(), monitorConfigOf(config));
        watchExit(proc);
        continue;
      }
      const why = !row || !agent ? 'the agent no longer exists' : agent.disabled ? 'the agent is disabled' : !pkg ? 'its package is gone' : `the agent is ${row.process_status}`;
      const reason = `a process left by an earlier AMS was stopped: ${why}`;
      // Its status goes through stopping to stopped, so nothing takes it for a crash to recover.
      const live = row && agent && canTransition(row.process_status as ProcessState, 'stopping');
      if (live) await status.transition(agentId, { to: 'stopping', event: 'stop_requested', details: { cause: 'orphan', pid: record.pid, reason } });
      const killed = await pm.killOrphan(record, deps.shutdownLimits?.timeoutMs ?? 5000);
      records.remove(agentId);
      if (!row || !agent) continue;
      adopted.add(agentId);
      const details = { pid: record.pid, reason, ...(killed ? {} : { note: 'the process was already gone' }) };
      if (live || row.process_status === 'stopping') await status.transition(agentId, { to: 'stopped', event: 'orphan_stopped', details, set: { pid: null } });
      else if (killed) await status.note(agentId, 'orphan_stopped', details, { statuses: 'process' });
    }
    // Statuses that say a process runs when none does.
    for (const row of await agentStatusRepo(db.knex).withProcessStatus(liveStates)) {
      if (adopted.has(row.agent_id)) continue;
      const reason = 'no process was found when the AMS started';
      if (row.process_status === 'stopping') {
        await status.transition(row.agent_id, { to: 'stopped', event: 'process_stopped', details: { exit_code: null, signal: null, graceful: false, reason }, set: { pid: null } });
      } else {
        await status.transition(row.agent_id, { to: 'failed', event: 'process_exited', details: { exit_code: null, signal: null, reason }, set: { pid: null, last_error: reason } });
        if (row.process_status !== 'starting') void engine.onFailure(row.agent_id, 'process_exit', { reason });
      }
    }
  }

  async function autostart(): Promise<void> {
    const rows = (await agentStatusRepo(db.knex).withProcessStatus(['registered', 'stopped', 'failed'])).filter((row) => !pm.get(row.agent_id));
    const loaded = await configs.loadMany(rows.map((row) => row.agent_id));
    rows.forEach((row, i) => {
      const config = loaded[i];
      if (config instanceof Error || config.autostart !== true) return;
      void run(row.agent_id, () => startProcess(row.agent_id, { cause: 'autostart' })).catch((err) =>
        logger.warn({ agentId: row.agent_id, err: (err as Error).message }, 'autostart failed'),
      );
    });
  }

  async function trackHeard(): Promise<void> {
    const rows = (await agentStatusRepo(db.knex).heard()).filter((row) => !pm.get(row.agent_id));
    const loaded = await configs.loadMany(rows.map((row) => row.agent_id));
    rows.forEach((row, i) => {
      const config = loaded[i];
      if (config instanceof Error) return;
      monitor.track(row.agent_id, { lastHeartbeatMs: row.last_heartbeat?.getTime(), health: row.health_status as never, config: monitorConfigOf(config) });
    });
  }

  const offBus = events.subscribe((e) => {
    if (e.type.startsWith('package.') && 'agent_id' in e && e.agent_id) launchCache.delete(e.agent_id);
    if (e.type === 'package.scan.completed') launchCache.clear();
    if (e.type === 'metrics.sample') monitor.sample(e.agent_id, e.values);
    else if (e.type === 'package.removed' && e.agent_id && started && !shuttingDown) {
      const agentId = e.agent_id;
      void stopIfLive(agentId, { cause: 'package_removed', path: e.path }).catch((err) => logger.warn({ agentId, err: (err as Error).message }, 'stopping an agent whose package was removed failed'));
    }
  });

  return {
    /** For the ingest: what agents say about themselves. */
    listeners: {
      heartbeat: (agentId: string, body: { metrics?: Record<string, number> }, at: Date) => {
        monitor.heartbeat(agentId, at, body.metrics);
        if (awaitingConnect.has(agentId)) releaseStale(agentId);
      },
      metrics: (agentId: string, body: { events_processed: number; events_failed: number }) => monitor.agentMetrics(agentId, body),
    },

    /** Adoption, stale statuses, health tracking, then autostart. Runs once the schema and the scanner are ready. */
    async start(): Promise<void> {
      await engine.recoverFromRestart((await agentStatusRepo(db.knex).withRecoveryStatus('in_progress')).map((r) => r.agent_id));
      await reconcile();
      await trackHeard();
      started = true;
      await autostart();
    },

    requestStart: (agentId: string, cause: Cause) => request(agentId, 'start', cause),
    requestStop: (agentId: string, cause: Cause) => request(agentId, 'stop', cause),
    requestRestart: (agentId: string, cause: Cause) => request(agentId, 'restart', cause),

    /** POST .../recovery: 409 while an attempt runs or is scheduled. */
    async triggerRecovery(agentId: string, requestedBy: Record<string, unknown>): Promise<void> {
      await requireStatus(agentId);
      await prepareStart(agentId);
      try {
        await engine.manual(agentId, requestedBy);
      } catch (err) {
        const state = (err as { inProgress?: string }).inProgress;
        if (state) throw new RecoveryInProgress(agentId, state);
        throw err;
      }
    },

    applyConfig,
    policies,
    /** Whether the supervisor could start the agent now (package present, command runnable, not disabled). */
    startable: (agentId: string) => prepareStart(agentId).then(
      () => true,
      () => false,
    ),
    recoveryState: (agentId: string, policy: RecoveryPolicy) => engine.state(agentId, policy),
    policyChanged: (agentId: string, policy: RecoveryPolicy) => engine.policyChanged(agentId, policy),
    healthView: (agentId: string) => monitor.view(agentId),
    /** The latest ping round trip of a supervised agent (stored with the resource samples as response_ms). */
    latestPing: (agentId: string) => monitor.latestPing(agentId),
    process: (agentId: string) => pm.get(agentId),
    /** Every live agent process, for the resource sampler. */
    processes: (): Array<{ agentId: string; pid: number }> => pm.list().map((p) => ({ agentId: p.agentId, pid: p.pid })),

    /** Agent hooks: stop the process before the agent is deleted or after it is disabled. */
    async beforeRemove(agentId: string): Promise<void> {
      spares.delete(agentId);
      await stopIfLive(agentId, { cause: 'agent_removed' });
      await engine.settle(agentId);
      monitor.forget(agentId);
      policies.forget(agentId);
      records.purge(agentId);
    },
    afterDisable: (agentId: string) => {
      spares.delete(agentId);
      return stopIfLive(agentId, { cause: 'agent_disabled' });
    },

    health(): { status: 'ok' | 'degraded'; latency_ms: number; processes: number; adopted: number; shutting_down: boolean } {
      const procs = pm.list();
      return { status: 'ok', latency_ms: 0, processes: procs.length, adopted: procs.filter((p) => p.adopted).length, shutting_down: shuttingDown };
    },

    /** Waits until queued work is done (tests). */
    async settle(): Promise<void> {
      await Promise.all([...queues.values()]);
      await engine.settle();
      await monitor.settle();
      pm.readAll();
      await sink.flush();
    },

    /**
     * Forgets every agent process without stopping it, as an AMS that crashed would: they keep
     * running and the next AMS on this data dir adopts or stops them. For tests and tools.
     */
    abandon(): void {
      shuttingDown = true;
      // A crashed AMS revokes nothing; the next start of each agent revokes what is stale.
      for (const a of awaitingConnect.values()) clearTimeout(a.timer);
      awaitingConnect.clear();
      staleReady.clear();
      clearTimeout(revokeTimer);
      clearInterval(offsetTimer);
      engine.stop();
      monitor.stop();
      pm.detach();
    },

    /** AMS shutdown: every agent is stopped gracefully (within the shutdown limits), output stored. */
    async stop(): Promise<void> {
      shuttingDown = true;
      offBus();
      offBroker();
      clearInterval(offsetTimer);
      engine.stop();
      const limits = deps.shutdownLimits ?? { graceMs: 3000, timeoutMs: 6000 };
      await Promise.all(
        pm.list().map((proc) =>
          run(proc.agentId, async () => {
            const row = await status.get(proc.agentId);
            if (row && canTransition(row.process_status as ProcessState, 'stopping')) await stopProcess(proc.agentId, { cause: 'ams_shutdown' }, undefined, limits);
          }).catch((err) => logger.warn({ agentId: proc.agentId, err: (err as Error).message }, 'stopping an agent at shutdown failed')),
        ),
      );
      await Promise.all([...queues.values()]);
      await engine.settle();
      await monitor.settle();
      monitor.stop();
      pm.close();
      await sink.stop();
      for (const id of [...awaitingConnect.keys()]) releaseStale(id);
      clearTimeout(revokeTimer);
      await revokeStale();
    },
  };
}
