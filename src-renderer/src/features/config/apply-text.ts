// What the configuration panel says about a version and the agent's process, tied to the
// version and to the process that applied it: "applied" is never said beside a stopped process
// without saying that it was the process that ran then.
import type { Agent, ConfigApply, ConfigVersion } from '../../api/types';

/** The process a save was answered by (pid and start), to tell it from a later one. */
export interface ProcessAtSave {
  pid: number | null;
  startTime: string | null;
}

export interface SaveResult {
  version: number;
  apply?: ConfigApply;
  process: ProcessAtSave;
}

const isUp = (a: Pick<Agent, 'status'>) => a.status === 'running' || a.status === 'degraded';
/** What became of a process that is no longer up, in words. */
const since = (status: Agent['status']) => (status === 'failed' ? 'has since failed' : status === 'stopping' ? 'is stopping' : 'has since stopped');

/** The sentence after a save (or a rollback), kept true as the agent's state changes. */
export function saveText(r: SaveResult, agent: Pick<Agent, 'status' | 'pid' | 'start_time'>, newest: number | null): string {
  const v = `Version ${r.version}`;
  const same = isUp(agent) && agent.start_time !== null && agent.start_time === r.process.startTime;
  const pid = r.process.pid !== null ? ` (pid ${r.process.pid})` : '';
  const later = newest !== null && newest > r.version ? ` Version ${newest} has been saved since.` : '';
  const a = r.apply;
  if (!a || a.status === 'not_running') {
    return isUp(agent) ? `${v} is saved; the process started since uses the newest configuration.${later}` : `${v} is saved. The agent is not running; it gets it at its next start.${later}`;
  }
  if (a.status === 'applied') {
    if (same) return `${v} is saved and the running process${pid} applied it.${later}`;
    if (!isUp(agent)) return `${v} is saved and was applied by the process that ran then${pid}, which ${since(agent.status)}; it is used at the next start.${later}`;
    return `${v} is saved and was applied by the previous process${pid}; the process running now started after it, with the newest configuration.${later}`;
  }
  if (a.status === 'rejected') {
    const kept = a.running_version !== null && a.running_version !== undefined ? ` and kept running version ${a.running_version}` : '';
    return `${v} is saved, but the process that ran then${pid} rejected it${a.error ? `: ${a.error}` : ''}${kept}.${later}`;
  }
  return `${v} is saved; the process that ran then${pid} did not answer, so it gets the configuration at its next start.${later}`;
}

/** The history table's "on the agent" cell: what happened, and whether that process still runs. */
export function historyApplyText(v: Pick<ConfigVersion, 'apply_status' | 'apply_error' | 'applied_at'>, agent: Pick<Agent, 'status' | 'start_time'>): string {
  if (!v.apply_status) return '—';
  const base = `${v.apply_status}${v.apply_error ? `: ${v.apply_error}` : ''}`;
  if (v.apply_status !== 'applied') return base;
  if (!isUp(agent)) return `${base} (by a process that ${since(agent.status)})`;
  if (agent.start_time && v.applied_at && Date.parse(agent.start_time) > Date.parse(v.applied_at)) return `${base} (by an earlier process)`;
  return `${base} (by the running process)`;
}
