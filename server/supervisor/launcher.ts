// Starting and stopping an agent's process on this host: the package's command resolved in
// its folder, credentials, the exact environment, the spawn, and the status changes that
// record it (registered|stopped|failed -> starting -> running, or -> failed when it cannot be
// spawned; running|degraded -> stopping -> stopped with the stop request, SIGTERM, SIGKILL).
import path from 'node:path';
import { ControlReply } from '../broker/protocol.js';
import { subjects } from '../broker/subjects.js';
import { AgentNotFound, BrokerUnavailable, NoResponders } from '../errors.js';
import { canTransition, type ProcessState } from '../domain/state-machine.js';
import { InvalidTransition, NotStartable } from '../domain/lifecycle-errors.js';
import type { ConfigMap } from '../domain/agent-config.js';
import { locateAgentSdk } from '../agent-sdk/locate.js';
import { readPackage } from '../scanner/package-reader.js';
import { agentEnvironment, CommandError, resolveCommand } from './command.js';
import type { ManagedProcess } from './process-manager.js';
import type { Cause, SupervisorContext } from './context.js';
import type { LocalProcessChange, LocalStatusRow } from './local-status.js';
import { monitorConfigOf } from './monitor-config.js';
import { readStderrTail, withStderr } from './stderr-tail.js';

const DEFAULT_GRACE_S = 5;
const DEFAULT_TIMEOUT_S = 10;
const STOP_REQUEST_TIMEOUT_MS = 2000;
const STOP_RETRY_MS = 200;
const LAUNCH_CACHE_MS = 30_000;

const seconds = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback);

export type Launcher = ReturnType<typeof createLauncher>;

export function createLauncher(ctx: SupervisorContext, hooks: { onStarted(proc: ManagedProcess): void }) {
  const { pm, status, monitor, specs } = ctx;
  // How each agent's package is run, kept for a while: reading and resolving it is on the path of
  // every crash recovery. Dropped when the agent's spec or package changes.
  const launchCache = new Map<string, { at: number; cwd: string; command: string; resolved: ReturnType<typeof resolveCommand>; packagePath: string }>();

  async function requireRow(agentId: string): Promise<LocalStatusRow> {
    const row = await status.get(agentId);
    if (!row) throw new AgentNotFound(agentId);
    return row;
  }

  function launchOf(agentId: string) {
    const spec = specs.get(agentId);
    if (!spec) throw new AgentNotFound(agentId);
    const hit = launchCache.get(agentId);
    if (hit && hit.packagePath === spec.package_path && Date.now() - hit.at < LAUNCH_CACHE_MS) return hit;
    if (!spec.package_path) {
      throw new NotStartable('package_not_found', `Agent ${agentId} has no package in the agents directory of host ${ctx.hostId}`);
    }
    const reading = readPackage(ctx.agentsDir, spec.package_path);
    if (!reading.agent) throw new NotStartable('package_not_found', `The package ${spec.package_path} of agent ${agentId} cannot be used: ${reading.problems.join('; ')}`, { problems: reading.problems });
    const cwd = path.join(ctx.agentsDir, spec.package_path);
    try {
      const launch = { at: Date.now(), cwd, command: reading.agent.command, resolved: resolveCommand(reading.agent.command, cwd, ctx.env.PATH ?? process.env.PATH), packagePath: spec.package_path };
      launchCache.set(agentId, launch);
      return launch;
    } catch (err) {
      if (err instanceof CommandError) throw new NotStartable('command_not_runnable', `The command of package ${spec.package_path} cannot be run: ${err.message}`, { command: reading.agent.command });
      throw err;
    }
  }

  /** What starting the agent needs: its spec, its package's command resolved in its folder. NotStartable otherwise. */
  function prepareStart(agentId: string) {
    const spec = specs.get(agentId);
    if (!spec) throw new AgentNotFound(agentId);
    if (spec.disabled) throw new NotStartable('agent_disabled', `Agent ${agentId} is disabled; enable it before starting it`);
    return { ...launchOf(agentId), spec };
  }

  const grantOf = (spec: { grant: { subscribed_topics: string[]; findings_topic: string | null } }) => JSON.stringify([spec.grant.subscribed_topics, spec.grant.findings_topic]);

  /**
   * registered|stopped|failed -> starting -> running, or -> failed when it cannot be spawned.
   * The process is spawned first and both transitions are recorded together once the OS runs it:
   * a start is on the path of every crash recovery, and the agent's queue guarantees that nothing
   * else changes its status meanwhile.
   */
  async function startProcess(agentId: string, cause: Cause): Promise<ManagedProcess> {
    const row = await requireRow(agentId);
    const current = row.process_status;
    const action = cause.cause === 'operator' ? cause.action : 'start';
    // `starting` with nothing running here: the control plane recorded the request (the API
    // writes that first step) before this supervisor had the agent; the start is carried out.
    const asked = current === 'starting';
    if ((!asked && !canTransition(current, 'starting')) || pm.get(agentId)) throw new InvalidTransition(current, 'starting', action);
    const prep = prepareStart(agentId);
    const config = prep.spec.config as ConfigMap;
    const version = prep.spec.config_version;
    const requested: LocalProcessChange = { to: 'starting', event: 'start_requested', details: { ...cause, command: prep.command, config_version: version }, action };
    const grant = grantOf(prep.spec);
    let proc: ManagedProcess;
    let creds;
    try {
      creds = await ctx.creds.take(agentId, grant);
      const credsFile = ctx.records.writeCreds(agentId, creds.creds);
      const env = agentEnvironment({
        agentId,
        natsUrl: ctx.natsUrl() ?? String(config.nats_url ?? ''),
        credsFile,
        config,
        agentSdk: locateAgentSdk(ctx.env),
        amsEnv: { ...ctx.env, PATH: ctx.env.PATH ?? process.env.PATH, HOME: ctx.env.HOME ?? process.env.HOME },
        tlsCa: ctx.env.OPMAS_NATS_TLS_CA,
        node: prep.resolved.node,
      });
      proc = await pm.spawn({ agentId, file: prep.resolved.file, args: prep.resolved.args, cwd: prep.cwd, env, configVersion: version });
    } catch (err) {
      const message = (err as Error).message;
      const stderrTail = readStderrTail(ctx.records.paths(agentId).stderr);
      await status.transitions(agentId, [
        ...(asked ? [] : [requested]),
        {
          to: 'failed', event: 'process_exited',
          details: { ...cause, spawned: false, error: message, stderr_tail: stderrTail },
          set: { pid: null, last_error: withStderr(`could not start: ${message}`, stderrTail) },
        },
      ]);
      throw err;
    }
    const sameVersion = row.config_version === version && row.config_since;
    try {
      await status.transitions(
        agentId,
        [
          ...(asked ? [] : [requested]),
          {
            to: 'running',
            event: 'process_started',
            details: { pid: proc.pid, command: prep.command, config_version: version, ...(cause.cause === 'recovery' ? { recovery_attempt: cause.attempt } : {}), ...(creds.reused ? { credentials_reused: true } : {}) },
            set: {
              pid: proc.pid, start_time: proc.startedAt, last_error: null, exit_code: null, exit_signal: null, config_version: version,
              config_since: sameVersion ? row.config_since : proc.startedAt, adopted: false,
            },
          },
        ],
        { public_key: creds.publicKey, start_id: creds.startId },
      );
    } catch (err) {
      // The start could not be recorded: the process must not run unrecorded.
      await pm.stop(proc, { graceMs: 0, timeoutMs: 1000 });
      throw err;
    }
    monitor.processStarted(agentId, proc.startedAt, monitorConfigOf(config));
    hooks.onStarted(proc);
    ctx.creds.started(agentId, grant, creds);
    return proc;
  }

  const control = (agentId: string, body: unknown, timeoutMs: number) => ctx.connection.request(subjects.agent(agentId).control, body, timeoutMs);

  /**
   * A control request sent again while nobody is subscribed (an agent reconnecting after a broker
   * blip: every revocation reloads nats-server in host mode), until `timeoutMs` is spent. Only an
   * agent that has been heard (it speaks the protocol) is waited for.
   */
  async function controlPatiently(agentId: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await control(agentId, body, Math.max(100, deadline - Date.now()));
      } catch (err) {
        const heard = monitor.view(agentId)?.last_heartbeat != null;
        const again = heard && (err instanceof NoResponders || err instanceof BrokerUnavailable);
        if (!again || Date.now() + STOP_RETRY_MS >= deadline) throw err;
        await new Promise((r) => setTimeout(r, STOP_RETRY_MS));
      }
    }
  }

  /** The `stop` control request; an agent never heard from gets its signal at once. */
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
  async function stopProcess(agentId: string, cause: Cause, limits?: { graceMs: number; timeoutMs: number }): Promise<void> {
    const row = await requireRow(agentId);
    const current = row.process_status as ProcessState;
    const proc = pm.get(agentId);
    if (current === 'stopping' && !proc) {
      // Asked to stop while nothing ran here (the host was away): settle the record.
      await status.transition(agentId, { to: 'stopped', event: 'process_stopped', details: { exit_code: null, signal: null, graceful: true, escalation: 'none', note: 'no process was running' }, set: { pid: null } });
      monitor.processEnded(agentId);
      return;
    }
    if (!canTransition(current, 'stopping')) throw new InvalidTransition(current, 'stopping', cause.cause === 'operator' ? cause.action : 'stop');
    await status.transition(agentId, { to: 'stopping', event: 'stop_requested', details: { ...cause } });
    const config = specs.get(agentId)?.config ?? {};
    let graceMs = seconds(config.stop_grace_period, DEFAULT_GRACE_S) * 1000;
    let timeoutMs = seconds(config.stop_timeout, DEFAULT_TIMEOUT_S) * 1000;
    if (limits) {
      graceMs = Math.min(graceMs, limits.graceMs);
      timeoutMs = Math.min(timeoutMs, limits.timeoutMs);
    }
    const outcome = proc ? await pm.stop(proc, { graceMs, timeoutMs, ask: () => askStop(agentId, Math.min(graceMs, timeoutMs)) }) : undefined;
    await status.transition(agentId, {
      to: 'stopped',
      event: 'process_stopped',
      details: outcome
        ? { exit_code: outcome.exit.code, signal: outcome.exit.signal, graceful: outcome.escalation !== 'SIGKILL', escalation: outcome.escalation, stop_requested: outcome.asked, pid: proc!.pid, ...cause }
        : { exit_code: null, signal: null, graceful: true, escalation: 'none', note: 'no process was running', ...cause },
      set: { pid: null, exit_code: outcome?.exit.code ?? null, exit_signal: outcome?.exit.signal ?? null },
    });
    monitor.processEnded(agentId);
  }

  return {
    launchOf,
    prepareStart,
    startProcess,
    stopProcess,
    controlPatiently,
    /** Forgets how an agent is launched (its spec or package changed). */
    invalidate: (agentId?: string) => (agentId ? launchCache.delete(agentId) : launchCache.clear()),
  };
}
