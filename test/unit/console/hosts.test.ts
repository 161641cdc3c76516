// The console's hosts: the hosts slice kept live from host.up / host.down, each host's agents
// counted from the fleet, what the host and agent pages say about a supervisor and about what
// should be, the fleet's host filter and grouping in the URL, alerts about a host, and the
// routes.
import { describe, expect, it } from 'vitest';
import type { AmsClient } from '../../../src-renderer/src/api/client';
import type { Alert, Host, LiveEvent } from '../../../src-renderer/src/api/types';
import { createConsoleStore } from '../../../src-renderer/src/store/store';
import { HOST_RELOAD_MS, hostLabel, sortHosts } from '../../../src-renderer/src/store/hosts-slice';
import { countsByHost, hostCounts, processBreakdown, supervisorSentence, supervisorState } from '../../../src-renderer/src/features/hosts/host-model';
import { intentNotes } from '../../../src-renderer/src/features/agent/intent';
import { DEFAULT_QUERY, filterAgents, groupIds, groupRows, orderedIds, queryFromSearch, searchFromQuery, facets } from '../../../src-renderer/src/features/dashboard/fleet-view';
import { alertQueryFromSearch, searchFromAlertQuery, selectAlerts } from '../../../src-renderer/src/features/alerts/alert-query';
import { desktopNotice } from '../../../src-renderer/src/store/desktop-notice';
import { hostPath, parseRoute } from '../../../src-renderer/src/router';
import { agent, byId } from './agents';

const session = { view: () => ({ status: 'signed-in', username: 'admin', message: null, desktop: null }) } as never;

function host(overrides: Partial<Host> = {}): Host {
  return {
    id: 'edge-1',
    name: 'edge-1',
    status: 'up',
    status_since: '2026-01-01T10:00:00.000Z',
    last_seen: '2026-01-01T10:05:00.000Z',
    version: '0.1.0',
    address: '10.0.0.21',
    pid: 4242,
    agents_dir: '/srv/agents',
    started_at: '2026-01-01T10:00:00.000Z',
    epoch: 3,
    agents: { total: 0, by_status: {} },
    ...overrides,
  };
}

let eventId = 0;
const hostEvent = (type: 'host.up' | 'host.down', host_id: string, details: Record<string, unknown> = {}, time = '2026-01-01T10:06:00.000Z') =>
  ({ id: ++eventId, time, type, host_id, details }) as LiveEvent;

/** A store whose client answers GET /hosts from `answers` (one per call; the last repeats), with manual timers. */
function storeWith(answers: Array<Host[] | Error>) {
  const calls: number[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  let n = 0;
  const store = createConsoleStore({
    client: {
      hosts: {
        list: async () => {
          calls.push(++n);
          const a = answers[Math.min(n, answers.length) - 1];
          if (a instanceof Error) throw a;
          return { items: a };
        },
      },
    } as unknown as AmsClient,
    session,
    storage: null,
    now: () => 5_000,
    schedule: (fn, ms) => timers.push({ fn, ms }),
  });
  const runTimers = async () => {
    for (const t of timers.splice(0)) t.fn();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { store, calls, timers, runTimers };
}

describe('the hosts slice', () => {
  it('loads the hosts, then a host.down changes the row at once, keeps why, and reloads once after the burst', async () => {
    const { store, calls, timers, runTimers } = storeWith([[host(), host({ id: 'edge-2', name: 'edge-2' })], [host({ status: 'down', epoch: 3 }), host({ id: 'edge-2', name: 'edge-2' })]]);
    const s = () => store.getState();
    expect(s().hosts.status).toBe('idle');
    await s().loadHosts();
    expect(s().hosts).toMatchObject({ status: 'ready', loadedAt: 5_000 });
    expect([...s().hosts.items.keys()]).toEqual(['edge-1', 'edge-2']);

    s().applyHostEvents([
      hostEvent('host.down', 'edge-1', { reason: 'its supervisor has not renewed its lease for 12 s', graceful: false }),
      hostEvent('host.down', 'edge-1', { reason: 'again' }),
    ]);
    expect(s().hosts.items.get('edge-1')).toMatchObject({ status: 'down', status_since: '2026-01-01T10:06:00.000Z', last_seen: '2026-01-01T10:05:00.000Z' });
    expect(s().hosts.items.get('edge-2')!.status).toBe('up');
    expect(s().hosts.downReasons.get('edge-1')).toEqual({ reason: 'again', graceful: false, at: '2026-01-01T10:06:00.000Z' });
    // One reload for the burst, however many host events it held.
    expect(timers.map((t) => t.ms)).toEqual([HOST_RELOAD_MS]);
    s().applyHostEvents([hostEvent('host.up', 'edge-2')]);
    expect(timers).toHaveLength(1);
    await runTimers();
    expect(calls).toEqual([1, 2]);
    expect(s().hosts.status).toBe('ready');
  });

  it('an up event marks the host seen now; other families change nothing and schedule nothing', async () => {
    const { store, timers } = storeWith([[host({ status: 'down' })]]);
    const s = () => store.getState();
    await s().loadHosts();
    const before = s().hosts;
    s().applyHostEvents([{ id: 1, time: 't', type: 'status.changed', agent_id: 'a', from: 'stopped', to: 'running', event_type: 'process_started', details: {} } as LiveEvent]);
    expect(s().hosts).toBe(before);
    expect(timers).toEqual([]);
    s().applyHostEvents([hostEvent('host.up', 'edge-1', {}, '2026-01-01T11:00:00.000Z')]);
    expect(s().hosts.items.get('edge-1')).toMatchObject({ status: 'up', status_since: '2026-01-01T11:00:00.000Z', last_seen: '2026-01-01T11:00:00.000Z' });
  });

  it('a host it has not loaded yet is fetched by the reload; before any load, events only note why a host went down', async () => {
    const { store, timers, runTimers } = storeWith([[host()], [host(), host({ id: 'edge-9', name: 'edge-9' })]]);
    const s = () => store.getState();
    s().applyHostEvents([hostEvent('host.down', 'edge-9', { reason: 'its supervisor stopped', graceful: true })]);
    expect(timers).toEqual([]);
    expect(s().hosts.downReasons.get('edge-9')).toMatchObject({ graceful: true });
    await s().loadHosts();
    s().applyHostEvents([hostEvent('host.up', 'edge-9')]);
    expect(s().hosts.items.has('edge-9')).toBe(false);
    await runTimers();
    expect(s().hosts.items.get('edge-9')!.status).toBe('up');
  });

  it('a quiet reload that fails keeps the last known rows and says why; a first load that fails is an error', async () => {
    const { store } = storeWith([[host()], new Error('the AMS does not answer')]);
    const s = () => store.getState();
    await s().loadHosts();
    await s().loadHosts({ quiet: true });
    expect(s().hosts.status).toBe('ready');
    expect(s().hosts.items.size).toBe(1);
    expect((s().hosts.error as Error).message).toBe('the AMS does not answer');

    const other = storeWith([new Error('refused')]).store;
    await other.getState().loadHosts();
    expect(other.getState().hosts).toMatchObject({ status: 'error', items: new Map() });
  });

  it('hosts are listed by id, so a row does not move when its host goes down, and named by id with their machine', () => {
    expect(sortHosts([host({ id: 'b', name: 'alpha' }), host({ id: 'c', name: 'alpha', status: 'down' }), host({ id: 'a', name: 'zeta' })]).map((h) => h.id)).toEqual(['a', 'b', 'c']);
    expect(hostLabel('edge-1', { name: 'rack4.example' })).toBe('edge-1 (rack4.example)');
    expect(hostLabel('edge-1', { name: 'edge-1' })).toBe('edge-1');
    expect(hostLabel('edge-1', undefined)).toBe('edge-1');
  });
});

describe("a host's agents and supervisor", () => {
  it('counts agents per host from the fleet in one pass; agents without a host count for none', () => {
    const list = [
      agent({ host_id: 'edge-1', status: 'running', health: 'healthy' }),
      agent({ host_id: 'edge-1', status: 'failed', health: 'critical' }),
      agent({ host_id: 'edge-2', status: 'stopped' }),
      agent({ host_id: null, status: 'running' }),
    ];
    const by = countsByHost(list);
    expect([...by.keys()].sort()).toEqual(['edge-1', 'edge-2']);
    expect(by.get('edge-1')).toEqual({ total: 2, process: { running: 1, failed: 1 }, health: { healthy: 1, critical: 1 }, recovery: { none: 2 } });
    // From the fleet once it is loaded (a host with no agent there has none)...
    expect(hostCounts(host({ id: 'edge-3', agents: { total: 4, by_status: { running: 4 } } }), by)).toMatchObject({ total: 0 });
    // ...else the counts the host row came with.
    expect(hostCounts(host({ agents: { total: 3, by_status: { running: 2, stopped: 1 } } }), null)).toEqual({ total: 3, process: { running: 2, stopped: 1 }, health: {}, recovery: {} });
  });

  it('lists the states present, trouble first', () => {
    expect(processBreakdown({ total: 6, process: { running: 3, stopped: 1, failed: 2, degraded: 0 }, health: {}, recovery: {} })).toEqual([
      ['failed', 2],
      ['running', 3],
      ['stopped', 1],
    ]);
  });

  it('says since when a supervisor is up or down, and why it went down when the console saw it', () => {
    const now = Date.parse('2026-01-01T10:03:00.000Z');
    const since = new Date('2026-01-01T10:00:00.000Z');
    const at = `${String(since.getHours()).padStart(2, '0')}:${String(since.getMinutes()).padStart(2, '0')}:00`;
    expect(supervisorSentence({ status: 'up', status_since: since.toISOString() }, now)).toBe(`Up since ${at} (3 min): its supervisor holds the host's lease.`);
    expect(supervisorSentence({ status: 'down', status_since: since.toISOString() }, now, { reason: 'its supervisor has not renewed its lease for 12 s', graceful: false })).toBe(
      `Down since ${at} (3 min): its supervisor has not renewed its lease for 12 s.`,
    );
    expect(supervisorSentence({ status: 'down', status_since: null }, now, { reason: 'its supervisor stopped', graceful: true })).toBe('Down: its supervisor was stopped.');
    expect(supervisorSentence({ status: 'down', status_since: null }, now)).toBe('Down: its supervisor no longer holds the lease.');
    expect(supervisorSentence({ status: 'unknown', status_since: null }, now)).toMatch(/^Not seen yet/);
    // The Hosts table shows the same in two parts beside the badge.
    expect(supervisorState({ status: 'down', status_since: since.toISOString() }, now, { reason: 'its lease was released', graceful: false })).toEqual({ since: `since ${at} (3 min)`, why: 'its lease was released' });
    expect(supervisorState({ status: 'unknown', status_since: since.toISOString() }, now)).toEqual({ since: '', why: "no supervisor has taken this host's lease" });
  });
});

describe('what should be, on the agent page', () => {
  const up = { name: 'edge-1', status: 'up' as const };
  const down = { name: 'edge-1', status: 'down' as const };

  it('a held agent says why and what releases it, before anything else', () => {
    const notes = intentNotes(agent({ host_id: 'edge-1', desired_state: 'running', status: 'failed', held: true, held_reason: 'recovery gave up after 3 attempts' }), up);
    expect(notes).toEqual([
      { kind: 'held', text: 'Held: recovery gave up after 3 attempts. It should run, but is not started again until you start it or trigger a recovery, or its configuration or package changes.' },
    ]);
  });

  it('should run but does not: its host starts it, or will once it is back', () => {
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'running', status: 'stopped' }), up)).toEqual([{ kind: 'pending', text: 'Should run: its host starts it.' }]);
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'running', status: 'stopped' }), down).map((n) => n.kind)).toEqual(['host-down', 'pending']);
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'running', status: 'stopped' }), down)[1].text).toBe('Should run: its host starts it once it is back.');
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'stopped', status: 'running' }), up)).toEqual([{ kind: 'pending', text: 'Should be stopped: its host stops it.' }]);
  });

  it('says nothing when what is matches what should be', () => {
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'running', status: 'running' }), up)).toEqual([]);
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'stopped', status: 'stopped' }), null)).toEqual([]);
    expect(intentNotes(agent({ host_id: 'edge-1', desired_state: 'stopped', status: 'registered' }), up)).toEqual([]);
  });
});

describe('the fleet by host', () => {
  const a1 = agent({ agent_name: 'Alpha', host_id: 'edge-1', agent_type: 'security' });
  const a2 = agent({ agent_name: 'Beta', host_id: 'edge-2', agent_type: 'security' });
  const a3 = agent({ agent_name: 'Gamma', host_id: 'edge-1', agent_type: 'wifi', status: 'running' });
  const a4 = agent({ agent_name: 'Delta', host_id: null, agent_type: 'wifi' });
  const all = [a1, a2, a3, a4];

  it('filters by host, and the filter and grouping live in the URL', () => {
    const q = queryFromSearch('?host=edge-1&group=host&sort=name');
    expect(q).toMatchObject({ host: 'edge-1', groupBy: 'host' });
    expect(filterAgents(all, q).map((a) => a.agent_name)).toEqual(['Alpha', 'Gamma']);
    expect(searchFromQuery(q)).toBe('?host=edge-1&group=host');
    expect(searchFromQuery(DEFAULT_QUERY)).toBe('');
    // Searching finds a host id too.
    expect(filterAgents(all, { ...DEFAULT_QUERY, text: 'EDGE-2' }).map((a) => a.agent_name)).toEqual(['Beta']);
  });

  it('groups by host with the host names, agents without a host last', () => {
    const names = new Map([['edge-1', 'Edge one']]);
    const hostName = (id: string) => names.get(id) ?? id;
    const rows = groupRows(orderedIds(all, DEFAULT_QUERY).map((id) => byId(all).get(id)!), 'host', new Set(), hostName);
    expect(rows.map((r) => (r.kind === 'group' ? `# ${r.label} (${r.counts.total})` : r.agent.agent_name))).toEqual([
      '# host Edge one (2)',
      'Alpha',
      'Gamma',
      '# host edge-2 (1)',
      'Beta',
      '# no host (1)',
      'Delta',
    ]);
    const ids = orderedIds(all, DEFAULT_QUERY);
    const grouped = groupIds(ids, byId(all), 'host', new Set(['edge-1']), hostName);
    expect(grouped.map((r) => (typeof r === 'string' ? byId(all).get(r)!.agent_name : `# ${r.label}`))).toEqual(['# host Edge one', '# host edge-2', 'Beta', '# no host', 'Delta']);
    expect(facets(all).hosts).toEqual(['edge-1', 'edge-2']);
  });
});

describe('alerts about a host', () => {
  const hostAlert = { id: 9, rule: 'host_down', severity: 'critical', status: 'open', agent_id: null, host_id: 'edge-1', title: 'Host edge-1 is down', message: 'The supervisor of host edge-1 is gone.', silence_id: null } as unknown as Alert;
  const agentAlert = { ...hostAlert, id: 10, rule: 'agent_failed', agent_id: 'wifi-1', host_id: null, title: 'Agent WifiAgent failed' } as Alert;

  it('filter by host in the URL; a host alert passes no agent or label filter', () => {
    const q = alertQueryFromSearch('?host=edge-1');
    expect(q.host).toBe('edge-1');
    expect(searchFromAlertQuery(q)).toBe('?host=edge-1');
    expect(selectAlerts([hostAlert, agentAlert], q, new Map()).map((a) => a.id)).toEqual([9]);
    expect(selectAlerts([hostAlert, agentAlert], { ...q, host: '', agent: 'wifi-1' }, new Map()).map((a) => a.id)).toEqual([10]);
    expect(selectAlerts([hostAlert, agentAlert], { ...q, host: '', label: 'site:lab' }, new Map()).map((a) => a.id)).toEqual([]);
  });

  it('a raised host alert becomes a desktop notification naming the host, with no agent', () => {
    expect(desktopNotice({ id: 3, time: 't', type: 'alert.raised', alert: hostAlert } as LiveEvent)).toEqual({
      id: '9',
      severity: 'critical',
      title: 'Host edge-1 is down',
      message: 'The supervisor of host edge-1 is gone.',
      host_id: 'edge-1',
    });
  });
});

describe('routes', () => {
  it('/hosts and /hosts/<id>', () => {
    expect(parseRoute('/hosts')).toEqual({ name: 'hosts' });
    expect(parseRoute(hostPath('edge 1/a'))).toEqual({ name: 'host', id: 'edge 1/a' });
    expect(parseRoute('/hosts/a/b')).toEqual({ name: 'not-found', path: '/hosts/a/b' });
  });
});
