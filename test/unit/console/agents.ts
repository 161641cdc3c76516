// Agent rows for the console's unit tests, shaped like GET /agents answers them.
import type { Agent } from '../../../src-renderer/src/api/types';

let n = 0;
export function agent(overrides: Partial<Agent> = {}): Agent {
  n++;
  const id = overrides.id ?? `security-00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    id,
    agent_id: id,
    agent_name: `Agent${n}`,
    agent_version: '1.0.0',
    agent_type: 'security',
    description: null,
    subscribed_topics: [],
    findings_topic: null,
    labels: {},
    disabled: false,
    desired_state: 'stopped',
    held: false,
    held_reason: null,
    host_id: null,
    status: 'registered',
    health: 'unknown',
    recovery: 'none',
    pid: null,
    start_time: null,
    last_heartbeat: null,
    last_error: null,
    reported_status: null,
    reported_status_known: null,
    uptime_s: null,
    restart_count: 0,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export const byId = (list: Agent[]) => new Map(list.map((a) => [a.id, a]));
