// The Hosts views as pure functions: each host's agents counted by state (from the fleet the
// console keeps live, else the counts the API sent with the host), and the sentences that say
// what a host's supervisor is doing.
import type { Agent, Host, ProcessStatus } from '../../api/types';
import { countAgent, type StateCounts } from '../dashboard/fleet-view';
import { shortDuration, timeOfDay } from '../common/format';

const empty = (): StateCounts => ({ total: 0, process: {}, health: {}, recovery: {} });

/** Every host's agents counted by process, health and recovery state, in one pass over the fleet. */
export function countsByHost(agents: Iterable<Agent>): Map<string, StateCounts> {
  const out = new Map<string, StateCounts>();
  for (const a of agents) {
    if (!a.host_id) continue;
    let c = out.get(a.host_id);
    if (!c) out.set(a.host_id, (c = empty()));
    countAgent(c, a, 1);
  }
  return out;
}

/**
 * A host's agent counts: from the live fleet once it is loaded (it follows every status event),
 * else from the host row (`agents.by_status`, as of the last GET /hosts).
 */
export function hostCounts(host: Host, byHost: ReadonlyMap<string, StateCounts> | null): StateCounts {
  if (byHost) return byHost.get(host.id) ?? empty();
  const c = empty();
  c.total = host.agents.total;
  for (const [status, n] of Object.entries(host.agents.by_status)) c.process[status as ProcessStatus] = n;
  return c;
}

// Trouble first, then what runs, then the quiet states.
const ORDER: ProcessStatus[] = ['failed', 'degraded', 'starting', 'stopping', 'running', 'stopped', 'registered', 'discovered'];

/** The non-zero process states, worst first: [["failed", 1], ["running", 3]]. */
export function processBreakdown(c: StateCounts): Array<[ProcessStatus, number]> {
  return ORDER.filter((s) => (c.process[s] ?? 0) > 0).map((s) => [s, c.process[s]!]);
}

export interface DownReason {
  reason: string;
  graceful: boolean;
}

/** The host's supervisor in parts: since when it is in its state ("since 10:00:00 (3 min)", or '') and why. */
export function supervisorState(host: Pick<Host, 'status' | 'status_since'>, nowMs: number, down?: DownReason): { since: string; why: string } {
  const at = host.status_since ? Date.parse(host.status_since) : NaN;
  const since = Number.isNaN(at) ? '' : `since ${timeOfDay(at)} (${shortDuration((nowMs - at) / 1000)})`;
  if (host.status === 'up') return { since, why: "its supervisor holds the host's lease" };
  if (host.status === 'down') return { since, why: down ? (down.graceful ? 'its supervisor was stopped' : down.reason) : 'its supervisor no longer holds the lease' };
  return { since: '', why: "no supervisor has taken this host's lease" };
}

/** One sentence on the host's supervisor: up since when, or down since when and why. */
export function supervisorSentence(host: Pick<Host, 'status' | 'status_since'>, nowMs: number, down?: DownReason): string {
  const { since, why } = supervisorState(host, nowMs, down);
  const word = host.status === 'up' ? 'Up' : host.status === 'down' ? 'Down' : 'Not seen yet';
  return `${word}${since ? ` ${since}` : ''}: ${why}.`;
}
