// At the supervisor's start: the processes an earlier supervisor of this host left running are
// adopted when they should run (same PID, start time and command line; their output read on
// from where it stopped; their exit noticed by polling), or stopped when they must not run
// (the agent is gone, disabled, should be stopped, or its package folder is gone); statuses that
// say a process runs when none does are settled (failed, then recovery).
import fs from 'node:fs';
import path from 'node:path';
import { canTransition, type ProcessState } from '../domain/state-machine.js';
import type { SupervisorContext } from './context.js';
import type { ManagedProcess } from './process-manager.js';
import { monitorConfigOf } from './monitor-config.js';

const LIVE: readonly ProcessState[] = ['starting', 'running', 'degraded', 'stopping'];

export async function adoptAtStart(
  ctx: SupervisorContext,
  hooks: { watch(proc: ManagedProcess): void; failed(agentId: string, details: Record<string, unknown>): void; orphanTimeoutMs: number },
): Promise<{ adopted: string[]; stopped: string[]; missing: string[] }> {
  const { status, specs, pm, records, logger } = ctx;
  const out = { adopted: [] as string[], stopped: [] as string[], missing: [] as string[] };
  const handled = new Set<string>();
  for (const spec of specs.all()) status.seed(spec);

  for (const record of records.all()) {
    const agentId = record.agent_id;
    const spec = specs.get(agentId);
    const row = spec ? await status.get(agentId) : undefined;
    if (!spec && !specs.authoritative()) {
      // Nothing is known of it yet (the control plane is away and no desired state was kept):
      // it keeps running, watched, until the control plane says what it is.
      const proc = pm.adopt(record);
      if (proc) {
        hooks.watch(proc);
        logger.warn({ agentId, pid: record.pid }, 'adopted a process of an agent this host does not know yet; kept until the control plane answers');
      } else records.remove(agentId);
      continue;
    }
    const packageGone = spec?.package_path ? !fs.existsSync(path.join(ctx.agentsDir, spec.package_path, '.env.discovery')) : true;
    const shouldRun = spec && row && !spec.disabled && !packageGone && spec.desired_state === 'running' && ['starting', 'running', 'degraded'].includes(row.process_status);
    if (shouldRun) {
      const proc = pm.adopt(record);
      if (!proc) {
        records.remove(agentId);
        continue;
      }
      handled.add(agentId);
      out.adopted.push(agentId);
      if (row.process_status === 'starting') {
        await status.transition(agentId, { to: 'running', event: 'process_started', details: { pid: proc.pid, adopted: true }, set: { pid: proc.pid, start_time: proc.startedAt } });
      }
      await status.note(agentId, 'adopted', { pid: proc.pid, start_time: proc.startedAt.toISOString(), config_version: proc.configVersion }, {
        statuses: 'process',
        set: { pid: proc.pid, start_time: proc.startedAt, adopted: true, ...(proc.configVersion !== null ? { config_version: proc.configVersion } : {}) },
        busEvent: { type: 'status.changed', agent_id: agentId, from: 'running', to: 'running', event_type: 'adopted', details: { pid: proc.pid } },
      });
      // Heartbeats sent while no supervisor ran were not judged: health starts over from the adoption.
      ctx.monitor.processStarted(agentId, new Date(), monitorConfigOf(spec.config));
      hooks.watch(proc);
      continue;
    }
    const why = !spec ? 'the agent no longer exists on this host'
      : spec.disabled ? 'the agent is disabled'
      : packageGone ? 'its package is gone'
      : spec.desired_state !== 'running' ? 'the agent should not run'
      : `the agent is ${row?.process_status}`;
    const reason = `a process left by an earlier supervisor was stopped: ${why}`;
    // Its status goes through stopping to stopped, so nothing takes it for a crash to recover.
    const live = row && canTransition(row.process_status, 'stopping');
    if (live) await status.transition(agentId, { to: 'stopping', event: 'stop_requested', details: { cause: 'orphan', pid: record.pid, reason } });
    const killed = await pm.killOrphan(record, hooks.orphanTimeoutMs);
    records.remove(agentId);
    if (!row) continue;
    handled.add(agentId);
    out.stopped.push(agentId);
    const details = { pid: record.pid, reason, ...(killed ? {} : { note: 'the process was already gone' }) };
    if (live || row.process_status === 'stopping') await status.transition(agentId, { to: 'stopped', event: 'orphan_stopped', details, set: { pid: null } });
    else if (killed) await status.note(agentId, 'orphan_stopped', details, { statuses: 'process' });
  }

  // Statuses that say a process runs when none does.
  for (const row of status.all()) {
    if (handled.has(row.agent_id) || !LIVE.includes(row.process_status) || pm.get(row.agent_id)) continue;
    // A start asked (while this host was away) and not carried out yet: the reconciler does it.
    const spec = specs.get(row.agent_id);
    if (row.process_status === 'starting' && spec && spec.desired_state === 'running' && !spec.disabled && spec.package_path !== null) continue;
    const reason = 'no process was found when the supervisor started';
    out.missing.push(row.agent_id);
    if (row.process_status === 'stopping') {
      await status.transition(row.agent_id, { to: 'stopped', event: 'process_stopped', details: { exit_code: null, signal: null, graceful: false, reason }, set: { pid: null } });
    } else {
      const wasStarting = row.process_status === 'starting';
      await status.transition(row.agent_id, { to: 'failed', event: 'process_exited', details: { exit_code: null, signal: null, reason }, set: { pid: null, last_error: reason } });
      if (!wasStarting) hooks.failed(row.agent_id, { reason });
    }
  }
  return out;
}
