// The supervisor of one host (DESIGN.md "Cluster"): holds the host's lease (fencing), scans the
// host's agents directory, runs the host's agents as processes, samples them, captures their
// output, judges their health, recovers them, and reconciles what runs with what should run.
// It talks to the control plane over NATS only (never to a database): what should be arrives as
// agent specs; what it observes leaves as durable observations through its journal. The same
// code runs inside `--role all` and alone as `--role supervisor`.
import os from 'node:os';
import path from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { BrokerConnection } from '../broker/connection.js';
import { ApplyRequest, ErrorReply, type Observation, observationMsgId, RollbackReply, type ApplyReply } from '../broker/host-protocol.js';
import { HeartbeatBody, MAX_AGENT_MESSAGE_BYTES, MetricsBody } from '../broker/protocol.js';
import { parseAgentSubject, subjects } from '../broker/subjects.js';
import { ensureObservationStream } from '../broker/jetstream.js';
import { AgentNotFound, BrokerUnavailable, NoResponders } from '../errors.js';
import { canTransition } from '../domain/state-machine.js';
import { DEFAULT_RECOVERY_POLICY, type RecoveryPolicy } from '../domain/recovery-policy.js';
import { createKeyedQueue } from '../util/keyed-queue.js';
import { createJournal, ObservationTooLarge } from './journal.js';
import { createLocalStatus } from './local-status.js';
import { createRunRecords } from './run-records.js';
import { createLogSink } from './log-capture.js';
import { createProcessManager, type ExitInfo, type ManagedProcess } from './process-manager.js';
import { createHealthMonitor, type HealthChange } from './health-monitor.js';
import { createRecoveryEngine } from './recovery-engine.js';
import { crashLoopDecision, type GuardDecision } from './config-guard.js';
import { createDesiredState } from './desired-state.js';
import { createCredentialClient } from './credential-client.js';
import { createLauncher } from './launcher.js';
import { createConfigApplier } from './config-apply.js';
import { createReconciler } from './reconciler.js';
import { adoptAtStart } from './adoption.js';
import { createHostScanner } from './host-scanner.js';
import { createSampler, DEFAULT_METRICS_INTERVAL_S, REPORTED, warningThresholds } from './resource-sampler.js';
import { acquireHostLease, type HostLease, type LeaseHolder } from './host-lease.js';
import type { SupervisorContext } from './context.js';
import { monitorConfigOf } from './monitor-config.js';
import { readStderrTail, withStderr } from './stderr-tail.js';

export interface HostSupervisorDeps {
  hostId: string;
  dataDir: string;
  agentsDir: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  version: string;
  /** The supervisor's own NATS connection (started by the caller). */
  connection: BrokerConnection;
  /** The broker URL agents are given. */
  natsUrl: () => string | undefined;
  /** Advertised address of this host (shown in the Hosts view). */
  address?: string;
  leaseTtlMs?: number;
  leaseRenewMs?: number;
  reconcileIntervalMs?: number;
  /** Stop limits while the supervisor itself stops (it must be done within its process's shutdown limit). */
  shutdownLimits?: { graceMs: number; timeoutMs: number };
  /** Another supervisor took this host over: this one has stopped acting. */
  onFenced?(holder: LeaseHolder | undefined): void;
}

const DEFAULT_RECONCILE_MS = 10_000;
const RELOAD_TIMEOUT_MS = 5000;

function describeExit(exit: ExitInfo, adopted: boolean): string {
  if (exit.signal) return `the process was killed by ${exit.signal}`;
  if (exit.code !== null) return `the process exited with code ${exit.code}`;
  return adopted ? 'the adopted process ended (its exit code cannot be known)' : 'the process ended';
}

/** Lease holders alive in this process (tests run a crashed and a new supervisor in one process). */
const liveHolders = new Set<string>();

export type HostSupervisor = ReturnType<typeof createHostSupervisor>;

export function createHostSupervisor(deps: HostSupervisorDeps) {
  const { logger, connection, hostId } = deps;
  const dir = path.join(deps.dataDir, 'supervisor');
  const records = createRunRecords(deps.dataDir);
  const journal = createJournal({ dir, hostId, logger });
  const status = createLocalStatus({ journal });
  const queue = createKeyedQueue();
  const sink = createLogSink({ emit: (lines) => journal.emit('logs.lines', { lines }), logger });
  const pm = createProcessManager({ records, sink, logger });
  const offsetTimer = setInterval(() => pm.saveOffsets(), 2000);
  offsetTimer.unref();
  let shuttingDown = false;
  let fenced = false;
  let lease: HostLease | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;
  const unsubscribers: Array<() => void> = [];
  /** Agents whose recovery is spent, held until an intent, config or package change. */
  const held = new Map<string, { configVersion: number; packagePath: string | null }>();

  // Broker outages as this supervisor saw them, to tell lost heartbeats the broker explains from
  // an agent that went quiet on its own.
  const outages: Array<{ from: number; to?: number }> = connection.status() === 'connected' ? [] : [{ from: Date.now() }];
  unsubscribers.push(
    connection.onStatus((s) => {
      const open = outages.at(-1);
      if (s === 'connected') {
        if (open && open.to === undefined) open.to = Date.now();
      } else if (!open || open.to !== undefined) {
        outages.push({ from: Date.now() });
        if (outages.length > 50) outages.shift();
      }
      monitor.evaluateAll();
    }),
  );
  const brokerDownMs = (sinceMs: number) => outages.reduce((sum, o) => sum + Math.max(0, (o.to ?? Date.now()) - Math.max(o.from, sinceMs)), 0);

  const specs = createDesiredState({
    hostId, dir, connection, logger,
    epoch: () => journal.epoch,
    onChange: (ids, full) => {
      for (const id of ids) launcher.invalidate(id);
      void reconciler.reconcile(full ? [...new Set([...ids, ...status.all().map((r) => r.agent_id)])] : ids);
    },
  });
  const creds = createCredentialClient({ hostId, epoch: () => journal.epoch, connection, records, logger });

  const monitor = createHealthMonitor({
    status,
    logger,
    onChange: (change) => void queue.run(change.agentId, () => onHealthChange(change)).catch((err) => logger.warn({ agentId: change.agentId, err: (err as Error).message }, 'health change handling failed')),
    async ping(agentId, timeoutMs) {
      const t0 = performance.now();
      try {
        await connection.request(subjects.agent(agentId).control, { action: 'ping' }, timeoutMs);
        return performance.now() - t0;
      } catch (err) {
        // No reply within the timeout is a response time of at least the timeout; no subscriber says nothing about speed.
        if (err instanceof NoResponders || err instanceof BrokerUnavailable) return undefined;
        return performance.now() - t0;
      }
    },
    broker: () => ({ down: outages.at(-1)?.to === undefined && outages.length > 0, downMsSince: brokerDownMs }),
    configOf: async (agentId) => monitorConfigOf(specs.get(agentId)?.config ?? {}),
  });

  const ctx: SupervisorContext = {
    hostId, logger, env: deps.env, agentsDir: deps.agentsDir, dataDir: deps.dataDir, connection, status, journal, specs, pm, records, monitor, creds, queue,
    natsUrl: deps.natsUrl,
    shuttingDown: () => shuttingDown || fenced,
  };
  const launcher = createLauncher(ctx, { onStarted: (proc) => watchExit(proc) });
  const policyOf = async (agentId: string): Promise<RecoveryPolicy> => (specs.get(agentId)?.policy as RecoveryPolicy | undefined) ?? { ...DEFAULT_RECOVERY_POLICY, notification_channels: [] };

  const engine = createRecoveryEngine({
    attempts: {
      insert(a) {
        const key = `${hostId}:${journal.epoch}:${a.agent_id}:${a.episode_started_at.getTime()}:${a.attempt_number}`;
        journal.emit('recovery.attempt', {
          agent_id: a.agent_id, key, attempt_number: a.attempt_number, strategy: a.recovery_strategy, trigger: a.trigger,
          started_at: a.started_at.toISOString(), episode_started_at: a.episode_started_at.toISOString(), details: a.details,
        });
        return key;
      },
      finish(key, agentId, st, error, extra) {
        journal.emit('recovery.attempt_finished', { agent_id: agentId, key, status: st, error, ...(extra ? { extra } : {}) });
      },
    },
    status,
    logger,
    policyOf,
    run: (id, fn) => queue.run(id, fn),
    guard,
    healthyNow: (id) => monitor.health(id) === 'healthy' && pm.get(id) !== undefined,
    onStable: (id) =>
      void queue.run(id, async () => {
        const row = await status.get(id);
        if (!row) return;
        // The episode is over: its attempts no longer count against the budget.
        const stable = row.config_version !== null && row.stable_config_version !== row.config_version && monitor.health(id) === 'healthy';
        await status.setColumns(id, { recovery_state: engine.wireState(id) as unknown as Record<string, unknown>, ...(stable ? { stable_config_version: row.config_version } : {}) });
      }).catch(() => undefined),
    actions: {
      async restart(agentId, cause) {
        const row = await requireRow(agentId);
        if (canTransition(row.process_status, 'stopping')) await launcher.stopProcess(agentId, cause);
        await launcher.startProcess(agentId, cause);
      },
      async reconnect(agentId, waitMs) {
        if (connection.status() !== 'connected' && !(await connection.waitConnected(waitMs))) throw new Error('the broker did not come back');
        const { ControlReply } = await import('../broker/protocol.js');
        const reply = ControlReply.safeParse(await launcher.controlPatiently(agentId, { action: 'reload' }, RELOAD_TIMEOUT_MS));
        if (!reply.success || !reply.data.ok) throw new Error(`the agent refused to reload: ${reply.success ? reply.data.error : 'malformed reply'}`);
      },
      async rollback(agentId, decision, cause) {
        await rollbackConfig(agentId, decision);
        const row = await requireRow(agentId);
        if (canTransition(row.process_status, 'stopping')) await launcher.stopProcess(agentId, cause);
        await launcher.startProcess(agentId, cause);
      },
      async giveUp(agentId, reason) {
        const row = await status.get(agentId);
        if (!row) return;
        const spec = specs.get(agentId);
        held.set(agentId, { configVersion: spec?.config_version ?? 0, packagePath: spec?.package_path ?? null });
        const proc = pm.get(agentId);
        if (row.process_status === 'running' || row.process_status === 'degraded') {
          const outcome = proc ? await pm.stop(proc, { graceMs: 0, timeoutMs: 2000 }) : undefined;
          const stderrTail = readStderrTail(records.paths(agentId).stderr);
          await status.transition(agentId, {
            to: 'failed',
            event: 'process_exited',
            details: { cause: 'recovery_failed', reason, ...(outcome ? { exit_code: outcome.exit.code, signal: outcome.exit.signal, escalation: outcome.escalation } : {}), stderr_tail: stderrTail },
            set: { pid: null, last_error: withStderr(reason, stderrTail), exit_code: outcome?.exit.code ?? null, exit_signal: outcome?.exit.signal ?? null },
          });
          monitor.processEnded(agentId);
        } else {
          await status.setColumns(agentId, { last_error: reason });
        }
      },
    },
  });
  status.setRecoveryStateSource((id) => engine.wireState(id));
  status.setMetricsSource((id) => {
    const m = monitor.view(id)?.metrics;
    return m ? (Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'number')) as Record<string, number>) : undefined;
  });

  const configApplier = createConfigApplier(ctx, launcher, {
    applied(agentId) {
      // A new version has to prove itself: the stability clock starts over.
      engine.onUnhealthy(agentId);
      if (monitor.health(agentId) === 'healthy') void policyOf(agentId).then((policy) => engine.onHealthy(agentId, { stableBaselineMs: Date.now(), policy }));
    },
  });

  const reconciler = createReconciler(ctx, launcher, engine, {
    held,
    applyConfig: (id) => configApplier.applyConfig(id),
    recover: async (agentId, requestedBy) => {
      try {
        launcher.prepareStart(agentId);
        await engine.manual(agentId, requestedBy);
      } catch (err) {
        logger.warn({ agentId, err: (err as Error).message }, 'manual recovery not started');
      }
    },
    forget(agentId) {
      monitor.forget(agentId);
      status.forget(agentId);
      records.purge(agentId);
      creds.forget(agentId);
      specs.forgetHandled(agentId);
      held.delete(agentId);
      sampler.forget(agentId);
    },
  });

  const sampler = createSampler({
    logger,
    emit: (samples) => journal.emit('metrics.samples', { samples }),
    onSample: (s) => monitor.sample(s.agent_id, s.values),
    latestPing: (id) => monitor.latestPing(id),
    listProcesses: () => pm.list().map((p) => ({ agentId: p.agentId, pid: p.pid })),
    intervalS: () => specs.settings().metrics_interval ?? DEFAULT_METRICS_INTERVAL_S,
    thresholds: (ids) => new Map(ids.map((id) => [id, warningThresholds(specs.get(id)?.config.thresholds)])),
  });

  const scanner = createHostScanner({ agentsDir: deps.agentsDir, logger, env: deps.env, emit: (scan) => journal.emit('packages.scan', scan), onChange: () => launcher.invalidate() });

  async function requireRow(agentId: string) {
    const row = await status.get(agentId);
    if (!row) throw new AgentNotFound(agentId);
    return row;
  }

  function watchExit(proc: ManagedProcess): void {
    void proc.exited.then((exit) => {
      if (proc.expected) return;
      void queue.run(proc.agentId, () => handleExit(proc, exit)).catch((err) => logger.warn({ agentId: proc.agentId, err: (err as Error).message }, 'exit handling failed'));
    });
  }

  /** A process ended that nobody asked to stop: running|degraded -> failed, then recovery. */
  async function handleExit(proc: ManagedProcess, exit: ExitInfo): Promise<void> {
    const agentId = proc.agentId;
    if (proc.expected || fenced) return;
    const current = pm.get(agentId);
    if (current && current !== proc) return;
    const row = await status.get(agentId);
    if (!row || (row.process_status !== 'running' && row.process_status !== 'degraded')) return;
    const details = {
      pid: proc.pid, exit_code: exit.code, signal: exit.signal, uptime_s: Math.round((exit.at.getTime() - proc.startedAt.getTime()) / 10) / 100,
      ...(proc.adopted ? { adopted: true } : {}),
      stderr_tail: readStderrTail(records.paths(agentId).stderr),
    };
    await status.transition(agentId, {
      to: 'failed', event: 'process_exited', details, from: ['running', 'degraded'],
      set: { pid: null, exit_code: exit.code, exit_signal: exit.signal, last_error: withStderr(describeExit(exit, proc.adopted), details.stderr_tail) },
    });
    monitor.processEnded(agentId);
    if (!shuttingDown) void engine.onFailure(agentId, 'process_exit', details);
  }

  /** Health changed: a running agent that went critical is degraded (then recovered), one that came back runs again. */
  async function onHealthChange(change: HealthChange): Promise<void> {
    const agentId = change.agentId;
    if (!change.supervised || shuttingDown || fenced) return;
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
    if (change.to === 'healthy' && p === 'running') engine.onHealthy(agentId, { stableBaselineMs: Date.now(), policy: await policyOf(agentId) });
    else engine.onUnhealthy(agentId);
  }

  /** The crash-loop guard's verdict from the agent's running and last good config versions. */
  async function guard(agentId: string, policy: RecoveryPolicy): Promise<GuardDecision> {
    const row = await status.get(agentId);
    if (!row) return { rollback: false, why: 'the agent is gone' };
    return crashLoopDecision({
      runningVersion: row.config_version,
      runningSinceMs: row.config_since?.getTime() ?? null,
      stableVersion: row.stable_config_version,
      stableAfterS: policy.stable_after,
      nowMs: Date.now(),
    });
  }

  /** Asks the control plane to store the last good version's settings as a new version, and runs it. */
  async function rollbackConfig(agentId: string, decision: Extract<GuardDecision, { rollback: true }>): Promise<void> {
    const row = await requireRow(agentId);
    const from = row.config_version ?? 0;
    const raw = await connection.request(subjects.host(hostId).rollback, { agent_id: agentId, epoch: journal.epoch, to_version: decision.to, from_version: from, reason: decision.why }, 5000);
    const refused = ErrorReply.safeParse(raw);
    if (refused.success) throw new Error(`the control plane refused the rollback: ${refused.data.error.message}`);
    const reply = RollbackReply.parse(raw);
    const spec = specs.get(agentId);
    if (spec) specs.replace({ ...spec, config: reply.config, config_version: reply.version });
    const details = { from_version: from, to_version: decision.to, new_version: reply.version, reason: decision.why, diff: reply.diff };
    await status.note(agentId, 'config_rolled_back', details, { busEvent: { type: 'config.rolled_back', agent_id: agentId, version: reply.version, details } });
  }

  /** What agents say about themselves, for their health: heartbeats and their own counters. */
  function listenToAgents(): void {
    const decoder = new TextDecoder();
    const parse = (data: Uint8Array) => {
      if (data.byteLength > MAX_AGENT_MESSAGE_BYTES) return undefined;
      try {
        return JSON.parse(decoder.decode(data)) as unknown;
      } catch {
        return undefined;
      }
    };
    unsubscribers.push(
      connection.subscribe(subjects.everyAgent.heartbeat, (msg) => {
        const parsed = parseAgentSubject(msg.subject);
        if (!parsed || !specs.get(parsed.agentId)) return;
        const body = HeartbeatBody.safeParse(parse(msg.data));
        if (!body.success || body.data.agent_id !== parsed.agentId) return;
        const at = new Date();
        monitor.heartbeat(parsed.agentId, at, body.data.metrics);
        if (body.data.metrics) sampler.noteReported(parsed.agentId, body.data.metrics);
      }),
      connection.subscribe(subjects.everyAgent.metrics, (msg) => {
        const parsed = parseAgentSubject(msg.subject);
        if (!parsed || !specs.get(parsed.agentId)) return;
        const body = MetricsBody.safeParse(parse(msg.data));
        if (!body.success) return;
        sampler.noteReported(parsed.agentId, body.data);
        monitor.agentMetrics(parsed.agentId, body.data);
      }),
    );
  }

  /** Requests of the control plane: apply a config version now (PUT config waits for it), rescan. */
  function listenToControlPlane(): void {
    const host = subjects.host(hostId);
    unsubscribers.push(
      connection.subscribe(host.apply, (msg) => {
        let req;
        try {
          req = ApplyRequest.parse(JSON.parse(new TextDecoder().decode(msg.data)));
        } catch (err) {
          connection.reply(msg, { error: { code: 'bad_request', message: (err as Error).message } });
          return;
        }
        void (async () => {
          // The pushed spec may not have arrived yet: take the newest desired state first.
          if ((specs.get(req.agent_id)?.config_version ?? -1) < req.version) await specs.sync();
          const reply: ApplyReply = await queue.run(req.agent_id, () => configApplier.applyConfig(req.agent_id)).catch((err) => ({ status: 'unanswered' as const, error: (err as Error).message }));
          connection.reply(msg, reply);
        })();
      }),
      connection.subscribe(host.rescan, (msg) => {
        const { id } = scanner.scan('api');
        connection.reply(msg, { scan_id: id, total: scanner.count() });
      }),
      // The control plane called this host down and sees it up again: what it set unknown is told again.
      connection.subscribe(host.resync, () => {
        if (!fenced) monitor.reportAll('host_resync');
      }),
    );
  }

  // JetStream client of the current connection (made again after a reconnection that replaced it).
  let js: { nc: NatsConnection; client: JetStreamClient } | undefined;
  // Publishes waiting for their PubAck when the connection drops (a host-mode revocation reloads
  // nats-server) fail at once: the ack is lost with the connection, and waiting out the 5 s
  // timeout held every later observation back. The journal sends them again (deduplicated by id).
  const inFlight = new Set<(err: Error) => void>();
  unsubscribers.push(
    connection.onStatus((s) => {
      if (s === 'connected') return;
      for (const abort of inFlight) abort(new BrokerUnavailable('the NATS connection dropped before the observation was acknowledged'));
    }),
  );
  async function publish(o: Observation): Promise<void> {
    const nc = connection.raw();
    if (!nc || connection.status() !== 'connected') throw new BrokerUnavailable('not connected to NATS');
    if (js?.nc !== nc) js = { nc, client: jetstream(nc, { timeout: 5000 }) };
    const data = new TextEncoder().encode(JSON.stringify(o));
    const max = nc.info?.max_payload;
    if (max !== undefined && data.length > max) throw new ObservationTooLarge(data.length, max);
    let abort!: (err: Error) => void;
    const dropped = new Promise<never>((_, reject) => (abort = reject));
    inFlight.add(abort);
    try {
      await Promise.race([js.client.publish(subjects.host(hostId).observation(o.kind), data, { msgID: observationMsgId(o), timeout: 5000 }), dropped]);
    } finally {
      inFlight.delete(abort);
    }
  }

  async function reconcileAll(): Promise<void> {
    if (shuttingDown || fenced) return;
    await specs.sync();
    await reconciler.reconcile([...new Set([...specs.ids(), ...status.all().map((r) => r.agent_id)])]);
  }

  function fence(holder: LeaseHolder | undefined): void {
    if (fenced) return;
    fenced = true;
    // Another supervisor holds this host now: this one must not touch the processes any more.
    clearInterval(reconcileTimer);
    engine.stop();
    monitor.stop();
    void sampler.stop();
    void scanner.stop();
    pm.detach();
    journal.stop();
    deps.onFenced?.(holder);
  }

  let startedAt = new Date();

  return {
    hostId,
    get epoch() {
      return journal.epoch;
    },
    /**
     * Takes the host's lease (HostHeld when a live supervisor has it), then: what an earlier run
     * left unpublished, hello, the desired state, adoption, the first scan, sampling, reconciling.
     * Answers the epoch and the first scan's id.
     */
    async start(): Promise<{ epoch: number; firstScanId: string }> {
      startedAt = new Date();
      while (!(await connection.waitConnected(5000))) logger.warn('waiting for NATS before taking the host lease');
      lease = await acquireHostLease(() => connection.raw(), {
        hostId, dataDir: deps.dataDir, version: deps.version, logger,
        ttlMs: deps.leaseTtlMs ?? 10_000, renewMs: deps.leaseRenewMs ?? 3000,
        onLost: (holder) => fence(holder),
        onRegained: () => monitor.reportAll('lease_regained'),
        isLiveHolderHere: (holder) => liveHolders.has(holder),
      });
      liveHolders.add(lease.holder);
      journal.open(lease.epoch);
      try {
        await ensureObservationStream(connection.raw()!);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'the observation stream could not be checked; observations wait in the journal');
      }
      journal.start(publish);
      journal.emit('host.hello', {
        name: os.hostname(), address: deps.address ?? null, version: deps.version, pid: process.pid, started_at: startedAt.toISOString(), agents_dir: deps.agentsDir,
      });
      specs.loadCache();
      specs.listen();
      const synced = await specs.sync();
      if (!synced) logger.warn({ cached: specs.ids().length }, 'the control plane did not answer; going on from the desired state kept on disk');
      await adoptAtStart(ctx, {
        watch: watchExit,
        failed: (agentId, details) => void engine.onFailure(agentId, 'process_exit', details),
        orphanTimeoutMs: deps.shutdownLimits?.timeoutMs ?? 5000,
      });
      listenToAgents();
      listenToControlPlane();
      const firstScanId = await scanner.start();
      await sampler.start();
      unsubscribers.push(connection.onConnected(() => void reconcileAll()));
      reconcileTimer = setInterval(() => void reconcileAll(), (specs.settings().reconcile_interval ?? 0) * 1000 || deps.reconcileIntervalMs || DEFAULT_RECONCILE_MS);
      reconcileTimer.unref();
      await reconciler.reconcile(specs.ids());
      return { epoch: journal.epoch, firstScanId };
    },

    /**
     * A resource sample taken elsewhere, judged as if this host's sampler had taken it (tests, and
     * tools that measure what the sampler cannot).
     */
    noteSample(agentId: string, values: Record<string, number>): void {
      monitor.sample(agentId, values);
    },
    /** What this supervisor believes of an agent right now, before the control plane has it. */
    view(agentId: string) {
      const row = status.all().find((r) => r.agent_id === agentId);
      const spec = specs.get(agentId);
      return {
        process_status: row?.process_status ?? null,
        health_status: monitor.health(agentId) ?? row?.health_status ?? null,
        recovery: spec ? engine.state(agentId, spec.policy as RecoveryPolicy) : null,
        pid: pm.get(agentId)?.pid ?? null,
      };
    },
    /** Every live agent process of this host. */
    processes: () => pm.list().map((p) => ({ agentId: p.agentId, pid: p.pid, adopted: p.adopted })),
    journalStats: () => journal.stats(),
    /** The newest observation's sequence number in this epoch. */
    lastSeq: () => journal.lastSeq(),
    samplerStats: () => sampler.stats(),
    samplerInterval: () => sampler.interval(),
    /** Publishes what is journaled (tests and shutdown); false when NATS did not take it in time. */
    drained: (timeoutMs?: number) => journal.drained(timeoutMs),
    /** Lifecycle work and observations done (tests). */
    async settle(): Promise<void> {
      await queue.settle();
      await engine.settle();
      await monitor.settle();
      pm.readAll();
      await sink.flush();
    },
    health(): { status: 'ok' | 'degraded' | 'down'; latency_ms: number; host_id: string; epoch: number; processes: number; adopted: number; journal_pending: number; shutting_down: boolean; fenced: boolean } {
      const procs = pm.list();
      const pending = journal.stats().pending;
      return {
        status: fenced ? 'down' : pending > 1000 ? 'degraded' : 'ok',
        latency_ms: 0,
        host_id: hostId,
        epoch: journal.epoch,
        processes: procs.length,
        adopted: procs.filter((p) => p.adopted).length,
        journal_pending: pending,
        shutting_down: shuttingDown,
        fenced,
      };
    },

    /**
     * Forgets every agent process without stopping it and stops acting, as a supervisor that
     * crashed would: the processes keep running, the journal keeps what was not published, and
     * the next supervisor on this data dir adopts them. For tests and tools.
     */
    abandon(): void {
      shuttingDown = true;
      clearInterval(reconcileTimer);
      clearInterval(offsetTimer);
      for (const u of unsubscribers.splice(0)) u();
      engine.stop();
      monitor.stop();
      void sampler.stop();
      void scanner.stop();
      pm.detach();
      journal.stop();
      specs.stop();
      if (lease) {
        liveHolders.delete(lease.holder);
        void lease.stop(false);
      }
    },

    /** Graceful stop: every agent stopped (within the limits), what is journaled published, the lease released. */
    async stop(): Promise<void> {
      if (shuttingDown) return;
      shuttingDown = true;
      clearInterval(reconcileTimer);
      clearInterval(offsetTimer);
      engine.stop();
      await sampler.stop();
      await scanner.stop();
      const limits = deps.shutdownLimits ?? { graceMs: 3000, timeoutMs: 6000 };
      if (!fenced) {
        await Promise.all(
          pm.list().map((proc) =>
            queue.run(proc.agentId, async () => {
              const row = await status.get(proc.agentId);
              if (row && canTransition(row.process_status, 'stopping')) await launcher.stopProcess(proc.agentId, { cause: 'ams_shutdown' }, limits);
              else await pm.stop(proc, { graceMs: 0, timeoutMs: limits.timeoutMs });
            }).catch((err) => logger.warn({ agentId: proc.agentId, err: (err as Error).message }, 'stopping an agent at shutdown failed')),
          ),
        );
      }
      await queue.settle();
      await engine.settle();
      await monitor.settle();
      monitor.stop();
      pm.close();
      await sink.stop();
      for (const u of unsubscribers.splice(0)) u();
      specs.stop();
      if (!fenced && !(await journal.drained(3000))) logger.warn({ pending: journal.stats().pending }, 'observations left in the journal; published at the next start');
      journal.stop();
      if (lease) {
        liveHolders.delete(lease.holder);
        await lease.stop(true);
      }
    },
  };
}

export { REPORTED };
