// The dashboard's pure parts: live events applied to agent rows, and the list's filter, sort,
// grouping and counts.
import { describe, expect, it } from 'vitest';
import { applyAgentEvent, applyFleetEvents } from '../../../src-renderer/src/store/fleet-events';
import { DEFAULT_QUERY, dependsOnLiveState, filterAgents, groupIds, groupRows, healthCounts, orderedIds, sortAgents, stateCounts } from '../../../src-renderer/src/features/dashboard/fleet-view';
import { createConsoleStore } from '../../../src-renderer/src/store/store';
import type { LiveEvent } from '../../../src-renderer/src/api/types';
import { agent, byId } from './agents';

let id = 0;
const ev = (e: Record<string, unknown>) => ({ id: ++id, time: '2026-01-01T00:00:05.000Z', ...e }) as LiveEvent;

describe('live events on agent rows', () => {
  it('a process start sets the status, pid and start time; an exit clears the pid and names the cause', () => {
    const a = agent({ status: 'starting' });
    const started = applyAgentEvent(a, ev({ type: 'status.changed', agent_id: a.id, from: 'starting', to: 'running', event_type: 'process_started', details: { pid: 4242 } }));
    expect(started).toMatchObject({ status: 'running', pid: 4242, start_time: '2026-01-01T00:00:05.000Z' });
    const exited = applyAgentEvent(started, ev({ type: 'status.changed', agent_id: a.id, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: null, signal: 'SIGKILL' } }));
    expect(exited).toMatchObject({ status: 'failed', pid: null, last_error: 'exited on SIGKILL' });
  });

  it('health and recovery events set those states; an event that changes nothing keeps the same object', () => {
    const a = agent({ status: 'running', health: 'healthy' });
    expect(applyAgentEvent(a, ev({ type: 'health.changed', agent_id: a.id, from: 'healthy', to: 'critical', reasons: [] })).health).toBe('critical');
    expect(applyAgentEvent(a, ev({ type: 'recovery.attempt', agent_id: a.id, attempt: 1 })).recovery).toBe('in_progress');
    expect(applyAgentEvent(a, ev({ type: 'recovery.escalated', agent_id: a.id })).recovery).toBe('failed');
    expect(applyAgentEvent(a, ev({ type: 'health.changed', agent_id: a.id, from: 'warning', to: 'healthy', reasons: [] }))).toBe(a);
    expect(applyAgentEvent(a, ev({ type: 'metrics.sample', agent_id: a.id, t: 1, values: { cpu_percent: 3 } }))).toBe(a);
  });

  it('a batch replaces changed rows (never mutates one), leaves the others alone and names agents it does not know', () => {
    const [a, b] = [agent({ status: 'stopped' }), agent({ status: 'stopped' })];
    const agents = byId([a, b]);
    const patch = applyFleetEvents(agents, [
      ev({ type: 'status.changed', agent_id: a.id, from: 'stopped', to: 'starting', event_type: 'start_requested', details: {} }),
      ev({ type: 'status.changed', agent_id: a.id, from: 'starting', to: 'running', event_type: 'process_started', details: { pid: 1 } }),
      ev({ type: 'status.changed', agent_id: 'wifi-x', from: null, to: 'registered', event_type: 'registered', details: {} }),
    ]);
    expect(patch).toEqual({ changed: true, unknown: ['wifi-x'] });
    expect(agents.get(a.id)!.status).toBe('running');
    expect(agents.get(b.id)).toBe(b);
    expect(a.status).toBe('stopped');
    expect(applyFleetEvents(agents, [ev({ type: 'health.changed', agent_id: b.id, from: 'unknown', to: 'unknown', reasons: [] })]).changed).toBe(false);
  });

  it('replaying events the snapshot already holds ends in the same state (absolute transitions)', () => {
    const a = agent({ status: 'running' });
    const events = [
      ev({ type: 'status.changed', agent_id: a.id, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: 1 } }),
      ev({ type: 'status.changed', agent_id: a.id, from: 'failed', to: 'starting', event_type: 'start_requested', details: {} }),
      ev({ type: 'status.changed', agent_id: a.id, from: 'starting', to: 'running', event_type: 'process_started', details: { pid: 7 } }),
    ];
    const fromOld = byId([a]);
    const fromNewer = byId([{ ...a, status: 'starting' }]);
    applyFleetEvents(fromOld, events);
    applyFleetEvents(fromNewer, events);
    expect(fromOld.get(a.id)).toMatchObject({ status: 'running', pid: 7 });
    expect(fromNewer.get(a.id)).toMatchObject({ status: 'running', pid: 7 });
  });
});

describe('the dashboard list', () => {
  const fleet = byId([
    agent({ agent_name: 'Gate', agent_type: 'security', status: 'running', health: 'healthy', labels: { site: 'paris' }, last_heartbeat: '2026-01-01T00:00:10Z' }),
    agent({ agent_name: 'attic', agent_type: 'wifi', status: 'failed', health: 'critical', recovery: 'failed', labels: { site: 'lyon' } }),
    agent({ agent_name: 'Bridge', agent_type: 'wifi', status: 'running', health: 'warning', labels: { site: 'paris', tier: 'edge' }, last_heartbeat: '2026-01-01T00:00:20Z' }),
    agent({ agent_name: 'cellar', agent_type: 'security', status: 'stopped', health: 'unknown', agent_version: '2.1.0' }),
  ]);
  const names = (list: { agent_name: string }[]) => list.map((a) => a.agent_name);

  it('filters by state, health, type and label, and searches name, type, version and labels case-insensitively', () => {
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, status: 'running' })).sort()).toEqual(['Bridge', 'Gate']);
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, health: 'critical' }))).toEqual(['attic']);
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, type: 'wifi', label: 'site:paris' }))).toEqual(['Bridge']);
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, label: 'tier' }))).toEqual(['Bridge']);
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, text: 'GATE' }))).toEqual(['Gate']);
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, text: 'lyon' }))).toEqual(['attic']);
    expect(names(filterAgents(fleet.values(), { ...DEFAULT_QUERY, text: '2.1' }))).toEqual(['cellar']);
    expect(filterAgents(fleet.values(), { ...DEFAULT_QUERY, text: 'nothing-like-this' })).toEqual([]);
  });

  it('sorts by name ignoring case, by health and status worst first, and by last heartbeat', () => {
    const all = [...fleet.values()];
    const numbered = ['Agent10', 'agent2', 'Agent1'].map((n) => agent({ agent_name: n }));
    expect(names(sortAgents(numbered, 'name', 'asc'))).toEqual(['Agent1', 'agent2', 'Agent10']);
    expect(names(sortAgents(all, 'name', 'asc'))).toEqual(['attic', 'Bridge', 'cellar', 'Gate']);
    expect(names(sortAgents(all, 'name', 'desc'))).toEqual(['Gate', 'cellar', 'Bridge', 'attic']);
    expect(names(sortAgents(all, 'health', 'asc'))).toEqual(['attic', 'Bridge', 'cellar', 'Gate']);
    expect(names(sortAgents(all, 'status', 'asc'))[0]).toBe('attic');
    expect(names(sortAgents(all, 'heartbeat', 'desc')).slice(0, 2)).toEqual(['Bridge', 'Gate']);
  });

  it('groups by type or by a label, with counts per group and an unlabelled group last', () => {
    const sorted = sortAgents([...fleet.values()], 'name', 'asc');
    const byType = groupRows(sorted, 'type');
    expect(byType.filter((r) => r.kind === 'group').map((r) => r.kind === 'group' && r.label)).toEqual(['type security', 'type wifi']);
    const bySite = groupRows(sorted, 'label:site');
    const groups = bySite.flatMap((r) => (r.kind === 'group' ? [[r.label, r.counts.total]] : []));
    expect(groups).toEqual([
      ['site: lyon', 1],
      ['site: paris', 2],
      ['no site label', 1],
    ]);
    const collapsed = groupRows(sorted, 'label:site', new Set(['paris']));
    expect(collapsed.filter((r) => r.kind === 'agent')).toHaveLength(2);
  });

  it('counts every state, and the health counts the desktop tray shows', () => {
    const c = stateCounts(fleet.values());
    expect(c).toMatchObject({ total: 4, process: { running: 2, failed: 1, stopped: 1 }, health: { healthy: 1, critical: 1, warning: 1, unknown: 1 }, recovery: { none: 3, failed: 1 } });
    expect(healthCounts(fleet.values())).toEqual({ healthy: 1, warning: 1, critical: 1, unknown: 1 });
  });
});

describe('the list at scale', () => {
  /** Counts without the zero entries (a patched count keeps a state that went to 0). */
  const drop0 = (m: Record<string, number | undefined>) => Object.fromEntries(Object.entries(m).filter(([, n]) => n !== 0));
  const nonZero = (c: ReturnType<typeof stateCounts>) => ({ total: c.total, process: drop0(c.process), health: drop0(c.health), recovery: drop0(c.recovery) });
  const session = { view: () => ({ status: 'signed-in', username: 'a', message: null, desktop: null }) } as never;

  it('orders ids once; only filters or sorts on states make live events reorder it; rows are the ids when not grouped', () => {
    const list = [agent({ agent_name: 'b', agent_type: 'wifi', status: 'running' }), agent({ agent_name: 'a', status: 'failed' }), agent({ agent_name: 'c', status: 'running' })];
    const map = byId(list);
    expect(orderedIds(map.values(), DEFAULT_QUERY)).toEqual([list[1].id, list[0].id, list[2].id]);
    expect(dependsOnLiveState(DEFAULT_QUERY)).toBe(false);
    expect(dependsOnLiveState({ ...DEFAULT_QUERY, text: 'x', type: 'wifi', label: 'a:b' })).toBe(false);
    expect(dependsOnLiveState({ ...DEFAULT_QUERY, status: 'running' })).toBe(true);
    expect(dependsOnLiveState({ ...DEFAULT_QUERY, sort: 'health' })).toBe(true);
    const ids = orderedIds(map.values(), DEFAULT_QUERY);
    expect(groupIds(ids, map, 'none')).toBe(ids);
    const grouped = groupIds(ids, map, 'type');
    expect(grouped.map((r) => (typeof r === 'string' ? r : r.label))).toEqual(['type security', list[1].id, list[2].id, 'type wifi', list[0].id]);
    expect((grouped[0] as { counts: { process: Record<string, number> } }).counts.process).toEqual({ failed: 1, running: 1 });
  });

  it('counts per state are patched by events and upserts, never recounted, and stay right', async () => {
    const a = agent({ status: 'running', health: 'healthy' });
    const b = agent({ status: 'stopped' });
    const store = createConsoleStore({ client: { agents: { listAll: async (_f: unknown, onPage: (p: unknown[]) => void) => (onPage([a, b]), [a, b]) } } as never, session, storage: null });
    await store.getState().loadFleet();
    expect(store.getState().fleet.counts).toMatchObject({ total: 2, process: { running: 1, stopped: 1 } });
    store.getState().applyFleetEvents([ev({ type: 'status.changed', agent_id: a.id, from: 'running', to: 'failed', event_type: 'process_exited', details: {} })]);
    store.getState().applyFleetEvents([ev({ type: 'health.changed', agent_id: a.id, from: 'healthy', to: 'critical', reasons: [] })]);
    const recount = () => nonZero(stateCounts(store.getState().fleet.agents.values()));
    const c = store.getState().fleet.counts;
    expect(nonZero(c)).toEqual(recount());
    expect(c.process).toMatchObject({ running: 0, failed: 1, stopped: 1 });
    store.getState().upsertAgents([{ ...b, status: 'running' }, agent({ status: 'registered' })]);
    expect(nonZero(store.getState().fleet.counts)).toEqual(recount());
    store.getState().removeAgent(b.id);
    expect(nonZero(store.getState().fleet.counts)).toEqual(recount());
  });

  it('a quiet refresh of the same agents replaces rows in place (no new order), and events during it are not lost', async () => {
    const a = agent({ status: 'running', last_heartbeat: '2026-01-01T00:00:00Z' });
    let pages: Array<() => unknown[]> = [() => [a]];
    let release: () => void = () => undefined;
    const gate = () => new Promise<void>((r) => (release = r));
    let wait: Promise<void> | null = null;
    const listAll = async (_f: unknown, onPage: (p: unknown[]) => void) => {
      if (wait) await wait;
      const p = pages[0]() as never[];
      onPage(p);
      return p;
    };
    const store = createConsoleStore({ client: { agents: { listAll } } as never, session, storage: null });
    await store.getState().loadFleet();
    const before = store.getState().fleet;
    // The refresh's snapshot was taken before the agent failed; the event arrives while it loads.
    pages = [() => [{ ...a, last_heartbeat: '2026-01-01T00:00:30Z' }]];
    wait = gate();
    const refresh = store.getState().loadFleet({ quiet: true });
    store.getState().applyFleetEvents([ev({ type: 'status.changed', agent_id: a.id, from: 'running', to: 'failed', event_type: 'process_exited', details: {} })]);
    expect(store.getState().fleet.agents.get(a.id)!.status).toBe('failed');
    release();
    await refresh;
    const after = store.getState().fleet;
    expect(after.agents).toBe(before.agents);
    expect(after.membership).toBe(before.membership);
    expect(after.agents.get(a.id)).toMatchObject({ status: 'failed', last_heartbeat: '2026-01-01T00:00:30Z' });
    expect(nonZero(after.counts).process).toEqual({ failed: 1 });
  });
});
