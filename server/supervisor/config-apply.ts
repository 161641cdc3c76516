// Runtime configuration on this host: a new version of an agent's effective configuration is
// sent to its running process (`config.update`) and the answer recorded (applied, rejected or
// unanswered) as an observation; the health monitor takes the new interval and thresholds only
// once the agent has applied them.
import type { ApplyReply as ApplyResult } from '../broker/host-protocol.js';
import { ControlReply } from '../broker/protocol.js';
import { AgentUnreachable, BrokerUnavailable } from '../errors.js';
import type { SupervisorContext } from './context.js';
import type { Launcher } from './launcher.js';
import { monitorConfigOf } from './monitor-config.js';

const APPLY_TIMEOUT_MS = 5000;

export type { ApplyResult };

export function createConfigApplier(ctx: SupervisorContext, launcher: Launcher, hooks: { applied(agentId: string): void }) {
  const { status, pm, monitor, specs } = ctx;

  /** Sends the agent's current effective config to its running process, if it runs another version. */
  async function applyConfig(agentId: string, opts: { force?: boolean } = {}): Promise<ApplyResult> {
    const spec = specs.get(agentId);
    const row = await status.get(agentId);
    const proc = pm.get(agentId);
    if (!spec || !row) return { status: 'not_running', running_version: null };
    const version = spec.config_version;
    if (!proc || (row.process_status !== 'running' && row.process_status !== 'degraded') || version < 1) {
      monitor.configure(agentId, monitorConfigOf(spec.config));
      return { status: 'not_running', running_version: proc ? row.config_version : null };
    }
    if (!opts.force && row.config_version === version) return { status: 'applied', running_version: version };
    let result: ApplyResult;
    try {
      const raw = await launcher.controlPatiently(agentId, { action: 'config.update', version, config: spec.config }, APPLY_TIMEOUT_MS);
      const reply = ControlReply.safeParse(raw);
      result = reply.success && reply.data.ok
        ? { status: 'applied', running_version: version }
        : { status: 'rejected', error: reply.success ? (reply.data.error ?? 'refused without a reason') : 'the reply is not {ok, error?}', running_version: row.config_version };
    } catch (err) {
      if (!(err instanceof AgentUnreachable) && !(err instanceof BrokerUnavailable)) throw err;
      result = { status: 'unanswered', error: `${(err as Error).message}; the agent keeps running version ${row.config_version ?? 0}`, running_version: row.config_version };
    }
    const applyStatus = result.status === 'applied' ? 'applied' : result.status === 'rejected' ? 'rejected' : 'unanswered';
    ctx.journal.emit('config.apply', { agent_id: agentId, version, status: applyStatus, error: result.error ?? null });
    if (result.status === 'applied') {
      await status.note(agentId, 'config_applied', { version, previous_version: row.config_version }, {
        statuses: 'process',
        set: { config_version: version, config_since: new Date() },
        busEvent: { type: 'config.applied', agent_id: agentId, version, details: { previous_version: row.config_version } },
      });
      monitor.configure(agentId, monitorConfigOf(spec.config));
      hooks.applied(agentId);
    } else {
      const details = { version, error: result.error, running_version: row.config_version, ...(result.status === 'unanswered' ? { unanswered: true } : {}) };
      await status.note(agentId, 'config_rejected', details, { statuses: 'process', busEvent: { type: 'config.rejected', agent_id: agentId, version, details } });
    }
    return result;
  }

  return { applyConfig };
}
