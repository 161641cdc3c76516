// How live events change an agent row: pure functions, so the store only applies them.
import type { Agent, LiveEvent, RecoveryStatus } from '../api/types';

const RECOVERY_BY_EVENT: Record<string, RecoveryStatus> = {
  'recovery.started': 'in_progress',
  'recovery.attempt': 'in_progress',
  'recovery.succeeded': 'success',
  'recovery.failed': 'failed',
  'recovery.escalated': 'failed',
};

/** The agent after the event, or the same object when the event does not change it. */
export function applyAgentEvent(agent: Agent, event: LiveEvent): Agent {
  switch (event.type) {
    case 'status.changed': {
      if (agent.status === event.to && event.event_type !== 'process_started') return agent;
      const pid = typeof event.details?.pid === 'number' ? event.details.pid : undefined;
      const stopped = event.to === 'stopped' || event.to === 'failed';
      return {
        ...agent,
        status: event.to,
        pid: pid ?? (stopped ? null : agent.pid),
        start_time: event.event_type === 'process_started' ? event.time : agent.start_time,
        last_error: event.event_type === 'process_exited' ? describeExit(event.details) : agent.last_error,
      };
    }
    case 'health.changed':
      return agent.health === event.to ? agent : { ...agent, health: event.to };
    case 'recovery.started':
    case 'recovery.attempt':
    case 'recovery.succeeded':
    case 'recovery.failed':
    case 'recovery.escalated': {
      const recovery = RECOVERY_BY_EVENT[event.type];
      return agent.recovery === recovery ? agent : { ...agent, recovery };
    }
    default:
      return agent;
  }
}

function describeExit(details: Record<string, unknown> | undefined): string | null {
  if (!details) return null;
  if (details.signal) return `exited on ${String(details.signal)}`;
  if (details.exit_code !== undefined && details.exit_code !== null) return `exited with code ${String(details.exit_code)}`;
  return null;
}

export interface FleetPatch {
  changed: boolean;
  /** Agents the events name that the console does not know yet (to fetch). */
  unknown: string[];
}

/**
 * Applies a batch of events to the agent map in place (rows are replaced, never mutated) and
 * says whether anything changed. A map rather than a record: at 10,000 agents, copying the
 * whole collection on every batch of events was the dashboard's largest cost.
 */
export function applyFleetEvents(agents: Map<string, Agent>, events: LiveEvent[], onChange?: (before: Agent, after: Agent) => void): FleetPatch {
  let changed = false;
  const unknown = new Set<string>();
  for (const event of events) {
    const id = event.agent_id;
    if (!id) continue;
    const current = agents.get(id);
    if (!current) {
      if (event.type === 'status.changed' || event.type.startsWith('package.')) unknown.add(id);
      continue;
    }
    const updated = applyAgentEvent(current, event);
    if (updated !== current) {
      agents.set(id, updated);
      onChange?.(current, updated);
      changed = true;
    }
  }
  return { changed, unknown: [...unknown] };
}
