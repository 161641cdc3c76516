// Alerts from real bus events: raised, deduplicated, resolved when the condition clears, the
// list API with filters and pages, acknowledgement (and its 409s, audit and permissions), and
// alerts of a deleted agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEvent, AmsEventInput } from '../../server/events/bus.js';
import { publishDelivered } from '../helpers/events.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { eventually } from '../helpers/wait.js';
import { jetstreamManager } from '@nats-io/jetstream';

let t: TestAms;
const seen: Array<AmsEvent & { alert?: any; agent_id?: string | null }> = [];
beforeAll(async () => {
  // A short crash-loop window so the clearing sweep is observable.
  t = await startTestAms({ env: { OPMAS_ALERT_CRASH_LOOP_COUNT: '3', OPMAS_ALERT_CRASH_LOOP_WINDOW: '2' } });
  t.ams.services.events.subscribe((e) => {
    if (e.type.startsWith('alert.')) seen.push(e);
  });
});
afterAll(() => t.stop());

const publish = async (e: AmsEventInput) => {
  await publishDelivered(t.ams.services.events, e);
  await t.ams.services.alerts.settled();
};
const failed = (agentId: string, exitCode = 1): AmsEventInput => ({ type: 'status.changed', agent_id: agentId, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: exitCode, signal: null } });
const running = (agentId: string): AmsEventInput => ({ type: 'status.changed', agent_id: agentId, from: 'starting', to: 'running', event_type: 'process_started', details: { pid: 123 } });
const alertsOf = async (agentId: string, extra = '') => (await t.api.get(`/api/v1/alerts?agent_id=${agentId}${extra}`)).body.items as any[];

describe('rules from bus events', () => {
  it('a condition clearing for an agent that has no open alert is acked without a write (a fleet becoming healthy stays off the database)', async () => {
    const quiet = await Promise.all([0, 1, 2].map(() => createAgent(t.api)));
    const alerted = await createAgent(t.api);
    await publish(failed(alerted.id));
    const writes: string[] = [];
    const onQuery = (q: { sql: string }) => {
      if (/^update "alerts"/i.test(q.sql)) writes.push(q.sql);
    };
    const skippedBefore = t.ams.services.alerts.stats().skipped;
    t.ams.db.knex.on('query', onQuery);
    try {
      for (let i = 0; i < 4; i++) {
        for (const a of quiet) {
          await publish({ type: 'health.changed', agent_id: a.id, from: 'unknown', to: 'healthy', reasons: [] });
          await publish(running(a.id));
        }
      }
      expect(writes).toEqual([]);
      expect(t.ams.services.alerts.stats().skipped - skippedBefore).toBe(4 * quiet.length * 2);
      // The agent with an open alert still gets its clears written, and its alert resolved.
      await publish(running(alerted.id));
      expect(writes.length).toBeGreaterThan(0);
      expect((await alertsOf(alerted.id, '&rule=agent_failed'))[0].status).toBe('resolved');
    } finally {
      t.ams.db.knex.removeListener('query', onQuery);
    }
  });

  it('agent failed: raised once, repeats bump count and last_seen_at, resolved when running again', async () => {
    const agent = await createAgent(t.api);
    const before = seen.length;
    await publish(failed(agent.id, 3));
    let [alert] = await alertsOf(agent.id, '&rule=agent_failed');
    expect(alert).toMatchObject({ rule: 'agent_failed', severity: 'warning', status: 'open', agent_id: agent.id, count: 1, acknowledged_at: null, resolved_at: null });
    expect(alert.title).toContain(agent.agent_name);
    expect(alert.message).toContain('exit code 3');
    expect(alert.details).toMatchObject({ exit_code: 3, event_type: 'process_exited' });

    await publish(failed(agent.id, 4));
    const list = await alertsOf(agent.id, '&rule=agent_failed');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: alert.id, count: 2, first_seen_at: alert.first_seen_at });
    expect(list[0].message).toContain('exit code 4');
    expect(Date.parse(list[0].last_seen_at)).toBeGreaterThanOrEqual(Date.parse(alert.last_seen_at));

    await publish(running(agent.id));
    [alert] = await alertsOf(agent.id, '&rule=agent_failed');
    expect(alert).toMatchObject({ status: 'resolved', count: 2 });
    expect(alert.resolved_at).not.toBeNull();
    expect(alert.details.resolved_reason).toBe('agent is running again');

    const mine = await eventually(async () => seen.slice(before).filter((e) => e.agent_id === agent.id && e.alert.rule === 'agent_failed'), (m) => m.length >= 3, 'the three alert events');
    expect(mine.map((e) => e.type)).toEqual(['alert.raised', 'alert.updated', 'alert.resolved']);
    expect(mine[2].alert.status).toBe('resolved');

    // The condition coming back opens a new alert rather than reopening the resolved one.
    await publish(failed(agent.id));
    const again = await alertsOf(agent.id, '&rule=agent_failed');
    expect(again.map((a) => a.status)).toEqual(['open', 'resolved']);
  });

  it('crash loop: raised at the Nth failure within the window, once; clears after a window running without failure', async () => {
    const agent = await createAgent(t.api);
    await publish(failed(agent.id));
    await publish(running(agent.id));
    await publish(failed(agent.id));
    expect(await alertsOf(agent.id, '&rule=crash_loop')).toEqual([]);
    await publish(running(agent.id));
    await publish(failed(agent.id));
    const [loop] = await alertsOf(agent.id, '&rule=crash_loop');
    expect(loop).toMatchObject({ severity: 'critical', status: 'open', count: 1 });
    expect(loop.details).toMatchObject({ failures: 3, threshold: 3, window_s: 2 });
    await publish(running(agent.id));
    await publish(failed(agent.id));
    expect((await alertsOf(agent.id, '&rule=crash_loop')).map((a) => [a.id, a.count])).toEqual([[loop.id, 2]]);

    // The agent's own status says running (the sweep checks the database), and no failure for a window.
    await publish(running(agent.id));
    await t.ams.db.knex('agent_status').where('agent_id', agent.id).update({ process_status: 'running' });
    const cleared = await eventually(() => alertsOf(agent.id, '&rule=crash_loop'), (l) => l[0]?.status === 'resolved', 'crash loop to clear');
    expect(cleared[0].details.resolved_reason).toContain('no failure for 2 s while running');
  });

  it('heartbeat missed and resource thresholds: one alert per metric, severity raised, each resolved as it clears', async () => {
    const agent = await createAgent(t.api);
    const hb = { kind: 'heartbeat', level: 'warning', message: 'missed 1 heartbeat (last 46 s ago)', missed: 1 };
    const cpu = { kind: 'threshold', metric: 'cpu_percent', value: 95, threshold: 90, level: 'warning' };
    const mem = { kind: 'threshold', metric: 'memory_mb', value: 900, threshold: 800, level: 'critical' };
    await publish({ type: 'health.changed', agent_id: agent.id, from: 'healthy', to: 'critical', reasons: [hb, cpu, mem] });
    const open = await alertsOf(agent.id, '&status=open');
    expect(open.map((a) => [a.rule, a.severity, a.details.metric ?? null]).sort()).toEqual([
      ['heartbeat_missed', 'warning', null],
      ['resource_threshold', 'critical', 'memory_mb'],
      ['resource_threshold', 'warning', 'cpu_percent'],
    ]);
    expect(open.find((a) => a.details.metric === 'memory_mb').details).toMatchObject({ value: 900, threshold: 800 });

    // Heartbeats now three missed (critical); cpu back under; memory still over.
    await publish({ type: 'health.changed', agent_id: agent.id, from: 'critical', to: 'critical', reasons: [{ ...hb, level: 'critical', missed: 3 }, mem] });
    const after = await alertsOf(agent.id);
    const byKey = (rule: string, metric?: string) => after.find((a) => a.rule === rule && (metric === undefined || a.details.metric === metric));
    expect(byKey('heartbeat_missed')).toMatchObject({ severity: 'critical', count: 2, status: 'open' });
    expect(byKey('resource_threshold', 'cpu_percent')).toMatchObject({ status: 'resolved' });
    expect(byKey('resource_threshold', 'memory_mb')).toMatchObject({ status: 'open', count: 2 });

    await publish({ type: 'health.changed', agent_id: agent.id, from: 'critical', to: 'healthy', reasons: [] });
    expect((await alertsOf(agent.id, '&status=open'))).toEqual([]);
  });

  it('recovery escalated and config rolled back (with the diff), each resolved by its own clearing event', async () => {
    const agent = await createAgent(t.api);
    await publish({ type: 'recovery.escalated', agent_id: agent.id, attempt: 3, max_attempts: 3, trigger: 'process_exit', action: 'restart', error: 'exit code 1' });
    const diff = { threshold: { from: 0, to: 5 } };
    await publish({ type: 'config.rolled_back', agent_id: agent.id, version: 4, details: { from_version: 3, to_version: 2, new_version: 4, diff, reason: 'failing within stable_after' } });
    const open = await alertsOf(agent.id, '&status=open');
    expect(open.find((a) => a.rule === 'recovery_escalated')).toMatchObject({ severity: 'critical' });
    expect(open.find((a) => a.rule === 'config_rolled_back').details).toMatchObject({ diff, from_version: 3, to_version: 2, version: 4 });

    await publish({ type: 'recovery.succeeded', agent_id: agent.id, attempt: 1 });
    // The rolled-back settings being applied is part of the rollback, not the fix.
    await publish({ type: 'config.applied', agent_id: agent.id, version: 4 });
    expect((await alertsOf(agent.id, '&status=open')).map((a) => a.rule)).toEqual(['config_rolled_back']);
    await publish({ type: 'config.applied', agent_id: agent.id, version: 5 });
    expect(await alertsOf(agent.id, '&status=open')).toEqual([]);
  });

  it('deleting an agent resolves its alerts, which stay readable (no foreign key to the agent)', async () => {
    const agent = await createAgent(t.api);
    await publish(failed(agent.id));
    expect((await t.api.delete(`/api/v1/agents/${agent.id}`)).status).toBe(204);
    const [alert] = await alertsOf(agent.id);
    expect(alert).toMatchObject({ agent_id: agent.id, status: 'resolved' });
    expect(alert.details.resolved_reason).toBe('agent deleted');
    expect((await t.api.get(`/api/v1/agents/${agent.id}`)).status).toBe(404);
  });
});

describe('the alert engine', () => {
  it('host down: one critical alert per host, about the host, resolved when its supervisor is back', async () => {
    const host = `host-${Date.now()}`;
    await publish({ type: 'host.down', host_id: host, details: { reason: 'its supervisor has not renewed its lease for 12 s' } });
    await publish({ type: 'host.down', host_id: host, details: { reason: 'its supervisor has not renewed its lease for 12 s' } });
    const open = ((await t.api.get('/api/v1/alerts?rule=host_down&status=open')).body.items as any[]).filter((a) => a.host_id === host);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ severity: 'critical', agent_id: null, host_id: host, title: `Host ${host} is down` });
    expect(open[0].message).toContain('has not renewed its lease');
    // A supervisor stopped on purpose (it released its lease) raises nothing.
    const quiet = `host-quiet-${Date.now()}`;
    await publish({ type: 'host.down', host_id: quiet, details: { reason: 'its supervisor stopped', graceful: true } });
    expect(((await t.api.get('/api/v1/alerts?rule=host_down')).body.items as any[]).filter((a) => a.host_id === quiet)).toEqual([]);
    await publish({ type: 'host.up', host_id: host, details: { previous: 'down' } });
    const [after] = ((await t.api.get('/api/v1/alerts?rule=host_down')).body.items as any[]).filter((a) => a.host_id === host);
    expect(after).toMatchObject({ id: open[0].id, status: 'resolved' });
    expect(after.details.resolved_reason).toBe(`host ${host} is up again`);
  });

  it('evaluates each event once: the whole stream delivered again changes no alert', async () => {
    const earlier = await createAgent(t.api);
    await publish(failed(earlier.id));
    await publish(failed(earlier.id));
    const before = (await t.ams.db.knex('alerts').select('id', 'count', 'status', 'last_seen_at').orderBy('id')) as Array<Record<string, unknown>>;
    expect(before.find((a) => a.count === 2)).toBeDefined();
    const duplicatesBefore = t.ams.services.alerts.stats().duplicates;
    // Without its durable consumer the engine makes a new one from the start of the stream.
    const jsm = await jetstreamManager(t.ams.broker.connection.raw()!);
    await jsm.consumers.delete('OPMAS_EVENTS', 'opmas-alerts');
    const agent = await createAgent(t.api);
    await publish(failed(agent.id));
    await eventually(async () => t.ams.services.alerts.stats().duplicates, (n) => n > duplicatesBefore, 'the old events delivered again');
    await t.ams.services.alerts.settled();
    const after = (await t.ams.db.knex('alerts').select('id', 'count', 'status', 'last_seen_at').orderBy('id')) as Array<Record<string, unknown>>;
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length)).toEqual([expect.objectContaining({ count: 1, status: 'open' })]);
  });
});

describe('GET /alerts', () => {
  let agent: { id: string };
  beforeAll(async () => {
    agent = await createAgent(t.api);
    for (let i = 0; i < 3; i++) await publish({ type: 'health.changed', agent_id: agent.id, from: 'healthy', to: 'warning', reasons: [{ kind: 'threshold', metric: `m${i}`, value: 2, threshold: 1, level: i === 0 ? 'critical' : 'warning' }] });
  });

  it('filters by status, severity (several, repeated or comma-separated), agent and rule, newest first', async () => {
    const all = await alertsOf(agent.id);
    expect(all.map((a) => a.details.metric)).toEqual(['m2', 'm1', 'm0']);
    expect(all.every((a, i) => i === 0 || a.id < all[i - 1].id)).toBe(true);
    expect((await alertsOf(agent.id, '&severity=critical')).map((a) => a.details.metric)).toEqual(['m0']);
    expect((await alertsOf(agent.id, '&severity=critical,warning')).length).toBe(3);
    expect((await alertsOf(agent.id, '&severity=critical&severity=info')).length).toBe(1);
    expect((await alertsOf(agent.id, '&rule=agent_failed')).length).toBe(0);
    const resolved = (await t.api.get('/api/v1/alerts?status=resolved&limit=500')).body.items as any[];
    expect(resolved.every((a) => a.status === 'resolved')).toBe(true);
  });

  it('pages with a cursor', async () => {
    const first = await t.api.get(`/api/v1/alerts?agent_id=${agent.id}&limit=2`);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await t.api.get(`/api/v1/alerts?agent_id=${agent.id}&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.items.map((a: any) => a.details.metric)).toEqual(['m0']);
    expect(second.body.next_cursor).toBeNull();
  });

  it('names every bad filter (400)', async () => {
    const res = await t.api.get('/api/v1/alerts?status=closed&severity=loud&rule=nope&limit=0&cursor=xyz&colour=red');
    expect(res.status).toBe(400);
    const paths = (res.body.error.details as Array<{ path: string }>).map((d) => d.path).sort();
    expect(paths).toEqual(['colour', 'limit', 'rule.0', 'severity.0', 'status.0']);
    expect((await t.api.get('/api/v1/alerts?cursor=xyz')).body.error.details[0].path).toBe('cursor');
  });
});

describe('POST /alerts/{id}/ack', () => {
  it('acknowledges once (audited); a second ack and an ack of a resolved alert are 409; repeats keep it acknowledged', async () => {
    const agent = await createAgent(t.api);
    await publish(failed(agent.id));
    const [alert] = await alertsOf(agent.id);
    const operator = await t.userWith('operator');
    const res = await operator.api.post(`/api/v1/alerts/${alert.id}/ack`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: alert.id, status: 'acknowledged', acknowledged_by: operator.username });
    expect(res.body.acknowledged_at).not.toBeNull();
    await eventually(async () => seen.some((e) => e.type === 'alert.acknowledged' && e.alert.id === alert.id), (yes) => yes, 'the alert.acknowledged event');

    const audit = await t.api.get(`/api/v1/audit?action=alert.acknowledge&target=alert:${alert.id}`);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({ result: 'success', actor: { name: operator.username }, before: { status: 'open' }, after: { status: 'acknowledged' } });

    const again = await t.api.post(`/api/v1/alerts/${alert.id}/ack`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'alert_already_acknowledged', details: { acknowledged_by: operator.username } });

    await publish(failed(agent.id));
    expect((await alertsOf(agent.id))[0]).toMatchObject({ id: alert.id, status: 'acknowledged', count: 2 });

    await publish(running(agent.id));
    const resolved = await t.api.post(`/api/v1/alerts/${alert.id}/ack`);
    expect(resolved.status).toBe(409);
    expect(resolved.body.error.code).toBe('alert_resolved');
    const failures = await t.api.get(`/api/v1/audit?action=alert.acknowledge&target=alert:${alert.id}`);
    expect(failures.body.items.map((r: any) => [r.result, r.status])).toEqual([['failure', 409], ['failure', 409], ['success', 200]]);
  });

  it('404 for an unknown alert, 400 for a non-numeric id', async () => {
    const missing = await t.api.post('/api/v1/alerts/999999999/ack');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('alert_not_found');
    const bad = await t.api.post('/api/v1/alerts/abc/ack');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('id');
  });
});

describe('permissions', () => {
  it('read-only lists but cannot ack; agent-bound principals get 403 (alerts are fleet-wide); anonymous 401', async () => {
    const agent = await createAgent(t.api);
    await publish(failed(agent.id));
    const [alert] = await alertsOf(agent.id);
    const ro = await t.userWith('read-only');
    expect((await ro.api.get(`/api/v1/alerts?agent_id=${agent.id}`)).body.items).toHaveLength(1);
    const denied = await ro.api.post(`/api/v1/alerts/${alert.id}/ack`);
    expect(denied.status).toBe(403);
    expect(denied.body.error.details).toEqual({ required: 'alerts:write' });
    const bound = await t.userWith('agent', agent.id);
    expect((await bound.api.get('/api/v1/alerts')).status).toBe(403);
    expect((await bound.api.get(`/api/v1/alerts?agent_id=${agent.id}`)).status).toBe(403);
    expect((await bound.api.post(`/api/v1/alerts/${alert.id}/ack`)).status).toBe(403);
    expect((await t.anon.get('/api/v1/alerts')).status).toBe(401);
    expect((await t.api.get(`/api/v1/alerts/${alert.id}`)).body.status).toBe('open');
  });
});

describe('schema', () => {
  it('allows one unresolved alert per deduplication key, any number of resolved ones, and keeps details as JSONB', async () => {
    const knex = t.ams.db.knex;
    const row = { rule: 'agent_failed', severity: 'warning', agent_id: 'gone-agent', title: 't', message: 'm', details: JSON.stringify({ a: 1 }), dedup_key: 'schema-test|gone-agent', first_seen_at: new Date(), last_seen_at: new Date() };
    await knex('alerts').insert({ ...row, status: 'resolved' });
    await knex('alerts').insert({ ...row, status: 'resolved' });
    await knex('alerts').insert({ ...row, status: 'open' });
    await expect(knex('alerts').insert({ ...row, status: 'acknowledged' })).rejects.toMatchObject({ code: '23505' });
    await expect(knex('alerts').insert({ ...row, dedup_key: 'other', status: 'closed' })).rejects.toMatchObject({ code: '23514' });
    await expect(knex('alerts').insert({ ...row, dedup_key: 'other2', severity: 'loud' })).rejects.toMatchObject({ code: '23514' });
    const type = await knex('information_schema.columns').where({ table_name: 'alerts', column_name: 'details' }).first('data_type');
    expect(type.data_type).toBe('jsonb');
    const indexes = await knex('pg_indexes').where({ tablename: 'alerts' }).pluck('indexdef');
    for (const columns of ['status, id', 'agent_id, id', 'rule, id', 'severity, id']) expect(indexes.some((d: string) => d.includes(`(${columns})`))).toBe(true);
  });
});
