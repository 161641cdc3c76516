// What should be beside what is, for one agent: the desired state the operator set, the observed
// process state, whether it is held (recovery spent), and whether its host can act on it. Pure:
// the agent header and status panel show these sentences.
import type { Agent, HostStatus } from '../../api/types';

export interface IntentNote {
  kind: 'held' | 'host-down' | 'pending';
  text: string;
}

const RUNNING = new Set<Agent['status']>(['running', 'degraded', 'starting']);

/**
 * Notes for the agent page, most important first: held with its reason; its host down; what
 * should be and is not yet (the host is carrying it out, or will once it is back).
 * `host`: the agent's host's name and status, when known.
 */
export function intentNotes(
  agent: Pick<Agent, 'desired_state' | 'status' | 'held' | 'held_reason' | 'host_id'>,
  host: { name: string; status: HostStatus } | null,
): IntentNote[] {
  const notes: IntentNote[] = [];
  const hostName = host?.name ?? agent.host_id ?? '';
  const hostDown = !!agent.host_id && host?.status === 'down';
  if (agent.held) {
    notes.push({
      kind: 'held',
      text: `Held: ${agent.held_reason ?? 'its automatic recovery gave up'}. It should run, but is not started again until you start it or trigger a recovery, or its configuration or package changes.`,
    });
  }
  if (hostDown) {
    notes.push({ kind: 'host-down', text: `Its host ${hostName} is down: nothing starts, stops, restarts or judges this agent until the host's supervisor is back.` });
  }
  const runs = RUNNING.has(agent.status);
  if (agent.desired_state === 'running' && !runs && !agent.held && agent.status !== 'stopping') {
    notes.push({ kind: 'pending', text: hostDown ? `Should run: its host starts it once it is back.` : `Should run: ${agent.host_id ? 'its host' : 'the AMS'} starts it.` });
  } else if (agent.desired_state === 'stopped' && runs) {
    notes.push({ kind: 'pending', text: hostDown ? `Should be stopped: its host stops it once it is back.` : `Should be stopped: ${agent.host_id ? 'its host' : 'the AMS'} stops it.` });
  }
  return notes;
}
