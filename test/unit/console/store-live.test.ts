// The console's store logic for an operator's day: the link to the AMS (up, interrupted,
// down, with the moment data was last current), packages, audit rows and alerts kept live
// from events, silences and which alerts they mute, the fleet table's and alerts' views in
// the URL, and what the recovery, configuration and logs panels say.
import { describe, expect, it } from 'vitest';
import type { AmsClient } from '../../../src-renderer/src/api/client';
import type { Alert, AuditEntry, LiveEvent, Silence } from '../../../src-renderer/src/api/types';
import { createConsoleStore } from '../../../src-renderer/src/store/store';
import { INTERRUPTED_AFTER_MS } from '../../../src-renderer/src/store/connection-slice';
import { auditMatches } from '../../../src-renderer/src/store/audit-slice';
import { silenceActive, silenceFor } from '../../../src-renderer/src/store/alerts-slice';
import { PACKAGE_RELOAD_MS } from '../../../src-renderer/src/store/packages-slice';
import { windowBounds } from '../../../src-renderer/src/store/agent-view-slice';
import { queryFromSearch, searchFromQuery, sortAgents, uptimeS, DEFAULT_QUERY } from '../../../src-renderer/src/features/dashboard/fleet-view';
import { alertQueryFromSearch, searchFromAlertQuery, selectAlerts } from '../../../src-renderer/src/features/alerts/alert-query';
import { latestAttempt, recoveryPhase } from '../../../src-renderer/src/features/recovery/recovery-state';
import { historyApplyText, saveText } from '../../../src-renderer/src/features/config/apply-text';
import { lineMatches, rangeBounds, sourceLabel } from '../../../src-renderer/src/features/logs/log-filter';
import { allowedActions } from '../../../src-renderer/src/features/agent/agent-actions';
import { agent, byId } from './agents';

const session = { view: () => ({ status: 'signed-in', username: 'admin', message: null, desktop: null }) } as never;

/** A store with manual timers and clock. */
function storeWith(client: Partial<AmsClient> = {}) {
  let now = 1_000_000;
  const timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  const store = createConsoleStore({
    client: { health: async () => Promise.reject(new Error('down')), ...client } as AmsClient,
    session,
    storage: null,
    now: () => now,
    schedule: (fn, ms) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return t;
    },
    cancel: (t) => void ((t as { live: boolean }).live = false),
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers) {
      if (!t.live || t.at > now) continue;
      t.live = false;
      t.fn();
    }
  };
  return { store, advance, now: () => now, timers };
}

const stream = (state: 'live' | 'reconnecting' | 'offline' | 'connecting', reason: string | null = null) => ({ state, attempt: state === 'live' ? 0 : 1, retryAt: null, reason });

describe('the link to the AMS', () => {
  it('a short drop (a token renewal) shows nothing; a longer one is interrupted, dated when the stream stopped', () => {
    const { store, advance } = storeWith({ health: async () => ({}) as never });
    const s = () => store.getState();
    s().setStream(stream('live'));
    s().setStream(stream('reconnecting', 'token expired'));
    advance(INTERRUPTED_AFTER_MS - 1);
    s().setStream(stream('live'));
    advance(10_000);
    expect(s().link.state).toBe('up');

    const droppedAt = 1_000_000 + INTERRUPTED_AFTER_MS - 1 + 10_000;
    s().setStream(stream('reconnecting', 'live stream dropped'));
    expect(s().link.state).toBe('up');
    advance(INTERRUPTED_AFTER_MS);
    expect(s().link).toEqual({ state: 'interrupted', since: droppedAt, reason: 'live stream dropped' });
    s().setStream(stream('live'));
    expect(s().link).toEqual({ state: 'up', since: null, reason: null });
  });

  it('is down at once when the AMS does not answer HTTP, keeps the first last-known moment, and is up again only when live', async () => {
    const { store, advance } = storeWith();
    const s = () => store.getState();
    s().setStream(stream('live'));
    advance(5000);
    s().setStream(stream('reconnecting', 'live stream dropped'));
    // The stream drop made the slice ask /health; it failed → the HTTP client reports it.
    s().setReachable(false);
    expect(s().link.state).toBe('down');
    const since = s().link.since;
    expect(since).toBe(1_005_000);
    advance(60_000);
    s().setStream(stream('offline', 'live stream unavailable'));
    expect(s().link).toMatchObject({ state: 'down', since, reason: 'the AMS does not answer' });
    // The AMS answers again, the stream is not back yet: values are still not current.
    s().setReachable(true);
    expect(s().link).toMatchObject({ state: 'interrupted', since });
    s().setStream(stream('live'));
    expect(s().link.state).toBe('up');
  });

  it('is never stale before the stream was first live (startup)', () => {
    const { store, advance } = storeWith();
    store.getState().setStream(stream('connecting'));
    store.getState().setStream(stream('reconnecting', 'no AMS connected'));
    advance(10_000);
    expect(store.getState().link.state).toBe('up');
  });
});

describe('live lists', () => {
  it('packages: a burst of package.* events reloads a loaded list once, quietly; an unloaded one is left alone', async () => {
    let calls = 0;
    const { store, advance } = storeWith({ packages: { listAll: async () => (calls++, [{ path: `/p${calls}` }]) } as never });
    const ev = (id: number) => ({ id, time: '', type: 'package.registered', path: '/x' }) as LiveEvent;
    store.getState().applyPackageEvents([ev(1)]);
    advance(PACKAGE_RELOAD_MS);
    expect(calls).toBe(0);
    await store.getState().loadPackages();
    expect(calls).toBe(1);
    store.getState().applyPackageEvents([ev(2), ev(3)]);
    store.getState().applyPackageEvents([ev(4)]);
    advance(PACKAGE_RELOAD_MS);
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toBe(2);
    expect(store.getState().packages.status).toBe('ready');
    expect(store.getState().packages.data).toEqual([{ path: '/p2' }]);
  });

  const entry = (id: number, action: string, extra: Partial<AuditEntry> = {}): AuditEntry =>
    ({ id, time: new Date(1_700_000_000_000 + id * 1000).toISOString(), actor: { type: 'user', id: 'u', name: 'admin', role: 'admin' }, action, target: `t:${id}`, before: null, after: null, source: null, result: 'success', status: 200, correlation_id: null, details: null, ...extra }) as AuditEntry;

  it('audit: rows that match the filters go on top live, or are held while paused; others are ignored', async () => {
    const { store } = storeWith({ audit: { list: async () => ({ items: [entry(1, 'user.create')], next_cursor: null }) } as never });
    await store.getState().loadAudit({ action: 'user.*', result: '' });
    expect(store.getState().audit.filter).toEqual({ action: 'user.*' });
    const appended = (e: AuditEntry, id: number) => ({ id, time: '', type: 'audit.appended', entry: e }) as LiveEvent;
    store.getState().applyAuditEvents([appended(entry(2, 'user.update'), 10), appended(entry(3, 'role.create'), 11), appended(entry(4, 'user.delete'), 12)]);
    expect(store.getState().audit.items.map((e) => e.id)).toEqual([4, 2, 1]);
    store.getState().setAuditLive(false);
    store.getState().applyAuditEvents([appended(entry(5, 'user.update'), 13)]);
    expect(store.getState().audit.items.map((e) => e.id)).toEqual([4, 2, 1]);
    expect(store.getState().audit.held.map((e) => e.id)).toEqual([5]);
    store.getState().setAuditLive(true);
    expect(store.getState().audit.items.map((e) => e.id)).toEqual([5, 4, 2, 1]);
    // The same row twice (replayed after a reconnect) is shown once.
    store.getState().applyAuditEvents([appended(entry(5, 'user.update'), 13)]);
    expect(store.getState().audit.items).toHaveLength(4);
  });

  it('audit filters match as the API does', () => {
    const e = entry(7, 'config.agent.update', { actor: { type: 'token', id: 'x', name: 'ci', role: 'operator' }, result: 'denied' });
    expect(auditMatches(e, { action: 'config.*' })).toBe(true);
    expect(auditMatches(e, { action: 'config' })).toBe(false);
    expect(auditMatches(e, { actor: 'ci', result: 'denied', target: 't:7' })).toBe(true);
    expect(auditMatches(e, { from: new Date(1_700_000_008_000).toISOString() })).toBe(false);
    expect(auditMatches(e, { to: new Date(1_700_000_007_000).toISOString() })).toBe(false);
  });

  it('alerts and silences: events update both; an active silence covering an alert is found until it ends', () => {
    const { store } = storeWith();
    const alert = { id: 1, rule: 'agent_failed', agent_id: 'a', status: 'open', severity: 'warning' } as Alert;
    const silence = (over: Partial<Silence>): Silence =>
      ({ id: 1, agent_id: 'a', rule: null, reason: 'x', created_by: 'admin', created_at: '', starts_at: '2026-01-01T10:00:00Z', ends_at: '2026-01-01T12:00:00Z', ended_at: null, ended_by: null, state: 'active', ...over }) as Silence;
    store.getState().applyAlertEvents([
      { id: 1, time: '', type: 'alert.raised', alert } as LiveEvent,
      { id: 2, time: '', type: 'alert.silence.created', silence: silence({}) } as LiveEvent,
    ]);
    expect(store.getState().alerts.items[1].status).toBe('open');
    const list = Object.values(store.getState().silences.items);
    const at = (iso: string) => Date.parse(iso);
    expect(silenceFor(alert, list, at('2026-01-01T11:00:00Z'))?.id).toBe(1);
    expect(silenceFor(alert, list, at('2026-01-01T12:00:00Z'))).toBeUndefined();
    expect(silenceFor({ ...alert, agent_id: 'b' }, list, at('2026-01-01T11:00:00Z'))).toBeUndefined();
    store.getState().applyAlertEvents([{ id: 3, time: '', type: 'alert.silence.ended', silence: silence({ ended_at: '2026-01-01T10:30:00Z', state: 'ended' }) } as LiveEvent]);
    expect(silenceActive(store.getState().silences.items[1], at('2026-01-01T11:00:00Z'))).toBe(false);
    expect(silenceFor({ ...alert, rule: 'crash_loop' }, [silence({ id: 2, agent_id: null, rule: 'crash_loop' })], at('2026-01-01T11:00:00Z'))?.id).toBe(2);
  });
});

describe('views in the URL', () => {
  it('the fleet table: every filter, sort and grouping survives a round trip; defaults make no query; bad values fall back', () => {
    const q = { ...DEFAULT_QUERY, text: 'sec', status: 'failed' as const, health: 'critical' as const, recovery: 'in_progress' as const, type: 'wifi', label: 'site:north', sort: 'restarts' as const, dir: 'desc' as const, groupBy: 'label:site' as const };
    expect(queryFromSearch(searchFromQuery(q))).toEqual(q);
    expect(searchFromQuery(DEFAULT_QUERY)).toBe('');
    expect(queryFromSearch('?status=exploded&sort=colour&dir=up&group=nothing')).toEqual(DEFAULT_QUERY);
  });

  it('uptime counts from the process start, and sorts the longest first', () => {
    const now = Date.parse('2026-01-01T10:00:10Z');
    const a = agent({ status: 'running', start_time: '2026-01-01T10:00:06Z' });
    const b = agent({ status: 'running', start_time: '2026-01-01T09:00:00Z' });
    const c = agent({ status: 'stopped', start_time: '2026-01-01T08:00:00Z' });
    expect(uptimeS(a, now)).toBe(4);
    expect(uptimeS(c, now)).toBeNull();
    expect(sortAgents([a, c, b], 'uptime', 'desc').map((x) => x.id)).toEqual([b.id, a.id, c.id]);
    expect(sortAgents([agent({ restart_count: 1 }), agent({ restart_count: 5 })], 'restarts', 'desc').map((x) => x.restart_count)).toEqual([5, 1]);
  });

  it('alerts: filters and order round-trip, and select as the list shows them', () => {
    const q = alertQueryFromSearch('?status=acknowledged&severity=critical,warning,bogus&rule=crash_loop&agent=a&label=site:n&sort=last_seen');
    expect(q).toEqual({ status: 'acknowledged', severity: ['critical', 'warning'], rule: 'crash_loop', agent: 'a', label: 'site:n', sort: 'last_seen' });
    expect(alertQueryFromSearch(searchFromAlertQuery(q))).toEqual(q);
    const agents = byId([agent({ id: 'x', labels: { site: 'n' } }), agent({ id: 'y', labels: { site: 's' } })]);
    const al = (id: number, severity: string, agent_id: string, last: string) => ({ id, severity, agent_id, rule: 'agent_failed', status: 'open', last_seen_at: last }) as Alert;
    const list = [al(1, 'warning', 'x', '2026-01-01T10:00:03Z'), al(2, 'critical', 'y', '2026-01-01T10:00:01Z'), al(3, 'warning', 'x', '2026-01-01T10:00:02Z'), al(4, 'info', 'y', '2026-01-01T10:00:04Z')];
    const base = alertQueryFromSearch('');
    expect(selectAlerts(list, base, agents).map((a) => a.id)).toEqual([2, 3, 1, 4]);
    expect(selectAlerts(list, { ...base, sort: 'last_seen' }, agents).map((a) => a.id)).toEqual([4, 1, 3, 2]);
    expect(selectAlerts(list, { ...base, label: 'site:n' }, agents).map((a) => a.id)).toEqual([3, 1]);
    expect(selectAlerts(list, { ...base, severity: ['info', 'critical'], sort: 'newest' }, agents).map((a) => a.id)).toEqual([4, 2]);
  });
});

describe('what the panels say', () => {
  const policy = { max_retries: 3, auto_recovery: true } as never;
  const attempt = (n: number, at: string) => ({ attempt_number: n, started_at: at }) as never;

  it('recovery: one state, never "can recover: no" beside "in progress"; the latest attempt is the newest', () => {
    const now = Date.parse('2026-01-01T10:00:00Z');
    const base = { policy, attempts: [], in_progress: false, can_recover: true, remaining: 3, next_attempt_at: null, recovery_status: 'none' } as never as Parameters<typeof recoveryPhase>[0];
    expect(recoveryPhase(base, { recovery: 'none' }, now)).toMatchObject({ phase: 'ready', text: 'Ready: if the agent fails, the AMS restarts it, up to 3 times.' });
    const waiting = { ...base, in_progress: true, can_recover: false, attempts: [attempt(1, '2026-01-01T09:59:00Z')], next_attempt_at: '2026-01-01T10:00:05Z' };
    expect(recoveryPhase(waiting, { recovery: 'in_progress' }, now)).toEqual({ phase: 'waiting', text: 'Recovering: attempt 2 of 3 starts in 5 s.' });
    expect(recoveryPhase({ ...waiting, next_attempt_at: null }, { recovery: 'in_progress' }, now).phase).toBe('recovering');
    expect(recoveryPhase({ ...base, recovery_status: 'failed', remaining: 0, attempts: [attempt(1, 'x'), attempt(2, 'y'), attempt(3, 'z')] }, { recovery: 'failed' }, now).phase).toBe('exhausted');
    expect(recoveryPhase({ ...base, policy: { max_retries: 3, auto_recovery: false } as never }, { recovery: 'none' }, now).phase).toBe('off');
    expect(latestAttempt([attempt(1, '2026-01-01T09:00:00Z'), attempt(2, '2026-01-01T09:05:00Z')] as never)).toMatchObject({ attempt_number: 2 });
  });

  it('lifecycle actions: Start and Restart are not offered while a recovery runs, with the reason', () => {
    const a = allowedActions(agent({ status: 'failed', recovery: 'in_progress' }));
    expect(a.actions).toEqual([]);
    expect(a.reasons.start).toMatch(/recovery is in progress/);
    expect(allowedActions(agent({ status: 'running', recovery: 'in_progress' })).actions).toEqual(['stop']);
    expect(allowedActions(agent({ status: 'stopped' })).actions).toEqual(['start']);
  });

  it('configuration: "applied" is tied to its version and to the process, and says when that process stopped', () => {
    const running = { status: 'running' as const, pid: 7, start_time: '2026-01-01T10:00:00Z' };
    const result = { version: 4, apply: { status: 'applied' as const, running_version: 4 }, process: { pid: 7, startTime: running.start_time } };
    expect(saveText(result, running, 4)).toBe('Version 4 is saved and the running process (pid 7) applied it.');
    expect(saveText(result, { ...running, status: 'stopped', pid: null }, 4)).toBe(
      'Version 4 is saved and was applied by the process that ran then (pid 7), which has since stopped; it is used at the next start.',
    );
    expect(saveText(result, { ...running, pid: 9, start_time: '2026-01-01T11:00:00Z' }, 5)).toMatch(/previous process \(pid 7\).*Version 5 has been saved since\.$/);
    expect(saveText({ ...result, apply: { status: 'rejected', error: 'bad threshold', running_version: 3 } }, running, 4)).toBe(
      'Version 4 is saved, but the process that ran then (pid 7) rejected it: bad threshold and kept running version 3.',
    );
    expect(historyApplyText({ apply_status: 'applied', apply_error: null, applied_at: '2026-01-01T10:05:00Z' }, { status: 'stopped', start_time: null })).toBe('applied (by a process that has since stopped)');
    expect(historyApplyText({ apply_status: 'applied', apply_error: null, applied_at: '2026-01-01T10:05:00Z' }, { ...running, status: 'stopping' })).toBe('applied (by a process that is stopping)');
    expect(historyApplyText({ apply_status: 'applied', apply_error: null, applied_at: '2026-01-01T09:00:00Z' }, running)).toBe('applied (by an earlier process)');
  });

  it('logs: the source as people say it, and a time range applied to live lines', () => {
    expect(sourceLabel('nats')).toBe('broker');
    expect(sourceLabel('stderr')).toBe('stderr');
    const now = Date.parse('2026-01-01T10:00:00Z');
    const r = rangeBounds('15m', now, { since: '', until: '' });
    expect(r).toEqual({ since: '2026-01-01T09:45:00.000Z' });
    expect(lineMatches({ level: 'INFO', message: 'x', timestamp: '2026-01-01T09:44:59Z' }, { level: '', q: '', ...r })).toBe(false);
    expect(lineMatches({ level: 'INFO', message: 'x', timestamp: '2026-01-01T09:50:00Z' }, { level: '', q: '', ...r })).toBe(true);
    expect(rangeBounds('custom', now, { since: '2026-01-01T08:00:00.000Z', until: '' })).toEqual({ since: '2026-01-01T08:00:00.000Z' });
  });

  it("the charts' default range fits a young agent's data, and keeps at least a minute", () => {
    const w = { preset: '1h' as const, zoom: null, fit: true };
    const now = 10_000;
    expect(windowBounds(w, now, now - 300)).toMatchObject({ fitted: true, live: true, to: now });
    expect(windowBounds(w, now, now - 300).from).toBe(now - 300 - 30);
    expect(windowBounds(w, now, now - 5).from).toBe(now - 60);
    expect(windowBounds(w, now, now - 7200)).toMatchObject({ fitted: false, from: now - 3600 });
    expect(windowBounds({ ...w, fit: false }, now, now - 300)).toMatchObject({ fitted: false, from: now - 3600 });
  });
});
