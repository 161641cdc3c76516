// Which lifecycle actions make sense for an agent now, and why the others do not: from its
// process state, whether it is disabled, and whether a recovery is under way (the AMS decides;
// this avoids obvious 409s and says why a button is disabled).
import type { Agent, LifecycleAction } from '../../api/types';

export interface AllowedActions {
  actions: LifecycleAction[];
  /** Why each action that is not allowed is not. */
  reasons: Partial<Record<LifecycleAction, string>>;
}

const BY_STATUS: Record<Agent['status'], LifecycleAction[]> = {
  running: ['stop', 'restart'],
  degraded: ['stop', 'restart'],
  stopped: ['start'],
  failed: ['start'],
  registered: ['start'],
  discovered: ['start'],
  starting: [],
  stopping: [],
};

export function allowedActions(agent: Pick<Agent, 'status' | 'recovery' | 'disabled'>): AllowedActions {
  const reasons: Partial<Record<LifecycleAction, string>> = {};
  const byStatus = BY_STATUS[agent.status] ?? [];
  for (const a of ['start', 'stop', 'restart'] as const) {
    if (!byStatus.includes(a)) reasons[a] = `Not possible while the process is ${agent.status}`;
  }
  if (agent.recovery === 'in_progress') {
    for (const a of ['start', 'restart'] as const) {
      reasons[a] = 'A recovery is in progress: the AMS is restarting this agent itself. Wait for it to finish (or stop the agent).';
    }
  }
  if (agent.disabled) for (const a of ['start', 'restart'] as const) reasons[a] = 'The agent is disabled';
  return { actions: (['start', 'stop', 'restart'] as const).filter((a) => reasons[a] === undefined), reasons };
}
