// What an on-call person needs from the alerts API: titles that name the agent, the rules with
// their severity, lists sorted worst first or by activity and filtered by several rules and the
// agent's labels, bulk acknowledgement, and silences (stored, audited, listed, ended early or
// by themselves; a silenced alert is recorded and published but sent to no channel).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEvent, AmsEventInput } from '../../server/events/bus.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { publishDelivered } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/receivers.js';

let t: TestAms;
let hook: WebhookReceiver;
const seen: AmsEvent[] = [];

beforeAll(async () => {
  hook = await startWebhookReceiver();
  t = await startTestAms();
  t.ams.services.events.subscribe((e) => {
    if (e.type.startsWith('alert.')) seen.push(e);
  });
  // Every alert from warning up goes to the receiver, at once and without retries.
  const res = await t.api.put('/api/v1/notification-channels', {
    channels: [{ name: 'ops', type: 'webhook', settings: { url: hook.url, retry_delay_s: 0.05, max_attempts: 1 } }],
    routing: { min_severity: 'warning', channels: ['ops'] },
  });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await t.stop();
  await hook.close();
});

const publish = async (e: AmsEventInput) => {
  await publishDelivered(t.ams.services.events, e);
  await t.ams.services.alerts.settled();
};
const failed = (agentId: string): AmsEventInput => ({ type: 'status.changed', agent_id: agentId, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: 1 } });
const critical = (agentId: string, metric = 'cpu_percent', level = 'critical'): AmsEventInput => ({
  type: 'health.changed', agent_id: agentId, from: 'healthy', to: 'critical', reasons: [{ kind: 'threshold', metric, value: 99, threshold: 90, level }],
});
const alertsOf = async (q: string) => (await t.api.get(`/api/v1/alerts?${q}`)).body.items as any[];
const auditOf = async (action: string) => (await t.api.get(`/api/v1/audit?action=${encodeURIComponent(action)}&limit=20`)).body.items as any[];
const hooksAbout = (agentId: string) => hook.requests.filter((r) => r.body?.alert?.agent_id === agentId);

describe('alert titles and rules', () => {
  it('titles name the agent by its name, not its ID', async () => {
    const agent = await createAgent(t.api);
    await publish(failed(agent.id));
    const [alert] = await alertsOf(`agent_id=${agent.id}`);
    expect(alert.title).toBe(`Agent ${agent.agent_name} failed`);
    expect(alert.title).not.toContain(agent.id);
    expect(alert.agent_id).toBe(agent.id);
  });

  it('lists every rule with its severity and where the severity comes from', async () => {
    const res = await t.api.get('/api/v1/alerts/rules');
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.items.map((r: any) => [r.id, r]));
    expect(Object.keys(byId).sort()).toEqual(['agent_failed', 'config_rolled_back', 'crash_loop', 'heartbeat_missed', 'host_down', 'recovery_escalated', 'resource_threshold']);
    expect(byId.crash_loop).toMatchObject({ severity: 'critical', severity_from: 'rule' });
    expect(byId.agent_failed).toMatchObject({ severity: 'warning', severity_from: 'rule' });
    expect(byId.resource_threshold).toMatchObject({ severity_from: 'reason' });
    for (const r of res.body.items) expect(r.description.length).toBeGreaterThan(20);
  });
});

describe('sorted and filtered lists', () => {
  it('sorts worst first (then newest) and by latest activity, paging through each order with its cursor', async () => {
    const a = await createAgent(t.api, { labels: { site: 'sort-lab' } });
    await publish(failed(a.id)); // warning
    await publish(critical(a.id, 'm1')); // critical
    await publish(critical(a.id, 'm2', 'warning')); // warning, newest
    const [m1] = (await alertsOf(`agent_id=${a.id}&rule=resource_threshold`)).filter((x) => x.details.metric === 'm1');
    const bySeverity = await alertsOf(`agent_id=${a.id}&sort=severity`);
    expect(bySeverity.map((x) => x.severity)).toEqual(['critical', 'warning', 'warning']);
    expect(bySeverity[0].id).toBe(m1.id);
    expect(bySeverity[1].id).toBeGreaterThan(bySeverity[2].id);

    // Pages of one keep the order and lose nothing.
    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await t.api.get(`/api/v1/alerts?agent_id=${a.id}&sort=severity&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...res.body.items.map((x: any) => x.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(paged).toEqual(bySeverity.map((x) => x.id));

    // The oldest alert repeats: it becomes the latest activity.
    await publish(failed(a.id));
    const byActivity = await alertsOf(`agent_id=${a.id}&sort=last_seen`);
    expect(byActivity[0].rule).toBe('agent_failed');
    const second = await t.api.get(`/api/v1/alerts?agent_id=${a.id}&sort=last_seen&limit=1`);
    const rest = await t.api.get(`/api/v1/alerts?agent_id=${a.id}&sort=last_seen&limit=5&cursor=${second.body.next_cursor}`);
    expect([...second.body.items, ...rest.body.items].map((x: any) => x.id)).toEqual(byActivity.map((x) => x.id));
  });

  it("filters by several rules and by the agent's labels", async () => {
    const north = await createAgent(t.api, { labels: { site: 'north', tier: 'edge' } });
    const south = await createAgent(t.api, { labels: { site: 'south', tier: 'edge' } });
    for (const a of [north, south]) {
      await publish(failed(a.id));
      await publish(critical(a.id));
    }
    const ids = (items: any[]) => new Set(items.map((x) => x.agent_id));
    expect(ids(await alertsOf('label=site:north'))).toEqual(new Set([north.id]));
    expect(ids(await alertsOf('label=tier:edge&label=site:south'))).toEqual(new Set([south.id]));
    expect(await alertsOf('label=site:nowhere')).toEqual([]);
    const both = await alertsOf(`agent_id=${north.id}&rule=agent_failed,resource_threshold`);
    expect(both.map((x) => x.rule).sort()).toEqual(['agent_failed', 'resource_threshold']);
    expect((await alertsOf(`agent_id=${north.id}&rule=agent_failed`)).map((x) => x.rule)).toEqual(['agent_failed']);
    const bad = await t.api.get('/api/v1/alerts?label=nocolon&sort=loudest');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: any) => d.path).sort()).toEqual(['label.0', 'sort']);
  });
});

describe('bulk acknowledge', () => {
  it('acknowledges each open alert, skips the others with the reason, and writes one audit row', async () => {
    const a = await createAgent(t.api);
    await publish(failed(a.id));
    await publish(critical(a.id));
    const [x, y] = await alertsOf(`agent_id=${a.id}&status=open`);
    expect((await t.api.post(`/api/v1/alerts/${y.id}/ack`)).status).toBe(200);
    const res = await t.api.post('/api/v1/alerts/ack', { ids: [x.id, y.id, 999_999_999] });
    expect(res.status).toBe(200);
    expect(res.body.acknowledged.map((z: any) => [z.id, z.status, z.acknowledged_by])).toEqual([[x.id, 'acknowledged', 'admin']]);
    expect(res.body.skipped.map((s: any) => [s.id, s.code])).toEqual([
      [y.id, 'alert_already_acknowledged'],
      [999_999_999, 'alert_not_found'],
    ]);
    const [row] = (await auditOf('alert.acknowledge')).filter((r) => r.target === `alerts:${x.id}`);
    expect(row.details).toMatchObject({ requested: 3, acknowledged: [x.id] });
    await eventually(async () => seen.some((e) => e.type === 'alert.acknowledged' && (e as any).alert.id === x.id), Boolean, 'the alert.acknowledged event');

    const bad = await t.api.post('/api/v1/alerts/ack', { ids: [], extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: any) => d.path).sort()).toEqual(['extra', 'ids']);
    const reader = await t.userWith('read-only');
    expect((await reader.api.post('/api/v1/alerts/ack', { ids: [x.id] })).status).toBe(403);
  });
});

describe('silences', () => {
  it('a silenced agent: its alerts are recorded and published, marked with the silence, and sent nowhere; others still are', async () => {
    const quiet = await createAgent(t.api);
    const loud = await createAgent(t.api);
    const res = await t.api.post('/api/v1/silences', { agent_id: quiet.id, duration_s: 3600, reason: 'maintenance window' });
    expect(res.status).toBe(201);
    const silence = res.body;
    expect(silence).toMatchObject({ agent_id: quiet.id, rule: null, reason: 'maintenance window', created_by: 'admin', state: 'active', ended_at: null });
    expect(Date.parse(silence.ends_at) - Date.parse(silence.starts_at)).toBe(3_600_000);

    await publish(failed(quiet.id));
    await publish(failed(loud.id));
    const [muted] = await alertsOf(`agent_id=${quiet.id}`);
    expect(muted).toMatchObject({ rule: 'agent_failed', status: 'open', silence_id: silence.id });
    await eventually(async () => seen.find((e) => e.type === 'alert.raised' && (e as any).alert.id === muted.id), Boolean, 'the alert.raised event');
    const [notified] = await alertsOf(`agent_id=${loud.id}`);
    expect(notified.silence_id).toBeNull();
    await t.ams.services.alerts.settled();
    expect(hooksAbout(loud.id)).toHaveLength(1);
    expect(hooksAbout(quiet.id)).toHaveLength(0);
    expect((await t.api.get(`/api/v1/alerts/${muted.id}/deliveries`)).body.items).toEqual([]);

    const [created] = (await auditOf('silence.create')).filter((r) => r.target === `silence:${silence.id}`);
    expect(created.after).toMatchObject({ agent_id: quiet.id, reason: 'maintenance window' });
    await eventually(async () => seen.some((e) => e.type === 'alert.silence.created' && (e as any).silence.id === silence.id), Boolean, 'the alert.silence.created event');
  });

  it('a rule silence mutes that rule for every agent; a rule-and-agent silence only that pair', async () => {
    const a = await createAgent(t.api);
    const b = await createAgent(t.api);
    const rule = await t.api.post('/api/v1/silences', { rule: 'resource_threshold', duration_s: 600, reason: 'load test' });
    const pair = await t.api.post('/api/v1/silences', { rule: 'agent_failed', agent_id: a.id, duration_s: 600, reason: 'known crash' });
    expect([rule.status, pair.status]).toEqual([201, 201]);
    for (const x of [a, b]) {
      await publish(critical(x.id));
      await publish(failed(x.id));
    }
    const silenceOf = async (agentId: string, r: string) => (await alertsOf(`agent_id=${agentId}&rule=${r}`))[0].silence_id;
    expect(await silenceOf(a.id, 'resource_threshold')).toBe(rule.body.id);
    expect(await silenceOf(b.id, 'resource_threshold')).toBe(rule.body.id);
    expect(await silenceOf(a.id, 'agent_failed')).toBe(pair.body.id);
    expect(await silenceOf(b.id, 'agent_failed')).toBeNull();
    await t.api.delete(`/api/v1/silences/${rule.body.id}`);
    await t.api.delete(`/api/v1/silences/${pair.body.id}`);
  });

  it('ends early (kept as ended, audited; 409 the second time) or expires by itself, and the next alert is sent again', async () => {
    const a = await createAgent(t.api);
    const s = (await t.api.post('/api/v1/silences', { agent_id: a.id, duration_s: 120, reason: 'deploy' })).body;
    expect((await t.api.get('/api/v1/silences')).body.items.map((x: any) => x.id)).toContain(s.id);
    const ended = await t.api.delete(`/api/v1/silences/${s.id}`);
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ id: s.id, state: 'ended', ended_by: 'admin' });
    const again = await t.api.delete(`/api/v1/silences/${s.id}`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('silence_ended');
    expect((await t.api.get('/api/v1/silences')).body.items.map((x: any) => x.id)).not.toContain(s.id);
    expect((await t.api.get('/api/v1/silences?state=inactive')).body.items.find((x: any) => x.id === s.id)).toMatchObject({ state: 'ended' });
    const [endRow] = (await auditOf('silence.end')).filter((r) => r.target === `silence:${s.id}` && r.result === 'success');
    expect(endRow).toMatchObject({ result: 'success', before: { reason: 'deploy', state: 'active' }, after: { state: 'ended' } });

    // Expiry needs nothing to run: a silence whose end time has passed no longer applies.
    const e = (await t.api.post('/api/v1/silences', { agent_id: a.id, duration_s: 120, reason: 'short' })).body;
    await t.ams.db.knex('alert_silences').where('id', e.id).update({ starts_at: new Date(Date.now() - 200_000), ends_at: new Date(Date.now() - 1000) });
    expect((await t.api.get(`/api/v1/silences/${e.id}`)).body.state).toBe('expired');
    expect((await t.api.delete(`/api/v1/silences/${e.id}`)).body.error.code).toBe('silence_expired');
    await publish(failed(a.id));
    expect((await alertsOf(`agent_id=${a.id}`))[0].silence_id).toBeNull();
    await t.ams.services.alerts.settled();
    expect(hooksAbout(a.id)).toHaveLength(1);
  });

  it('names every bad field (400), needs alerts:write to change and alerts:read to list', async () => {
    const res = await t.api.post('/api/v1/silences', { rule: 'nope', reason: '  ', duration_s: 5, colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: any) => d.path).sort()).toEqual(['colour', 'duration_s', 'reason', 'rule']);
    const nothing = await t.api.post('/api/v1/silences', { reason: 'everything', duration_s: 600 });
    expect(nothing.body.error.details.map((d: any) => d.path)).toEqual(['agent_id']);
    const unknown = await t.api.post('/api/v1/silences', { agent_id: 'security-00000000-0000-4000-8000-000000000000', duration_s: 600, ends_at: new Date(Date.now() + 600_000).toISOString(), reason: 'x' });
    expect(unknown.body.error.details.map((d: any) => [d.path, d.reason]).sort()).toEqual([
      ['agent_id', 'no such agent'],
      ['duration_s', 'give either duration_s or ends_at'],
    ]);
    expect((await t.api.delete('/api/v1/silences/123456789')).status).toBe(404);
    const reader = await t.userWith('read-only');
    expect((await reader.api.get('/api/v1/silences')).status).toBe(200);
    expect((await reader.api.post('/api/v1/silences', { rule: 'crash_loop', duration_s: 600, reason: 'x' })).status).toBe(403);
  });
});
