// What the console's administration and fleet screens need from the API beyond the basics: a
// test message to a notification channel with its delivery result, audit filters by action
// prefix and result, the audit export (NDJSON and CSV) and each audit row on the live bus, the
// fleet's state counts over time from the status history, and restart counts on agents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEvent } from '../../server/events/bus.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/receivers.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
let good: WebhookReceiver;
let bad: WebhookReceiver;
const seen: AmsEvent[] = [];

beforeAll(async () => {
  [good, bad] = await Promise.all([startWebhookReceiver(), startWebhookReceiver()]);
  t = await startTestAms();
  t.ams.services.events.subscribe((e) => void seen.push(e));
  const res = await t.api.put('/api/v1/notification-channels', {
    channels: [
      { name: 'good', type: 'webhook', settings: { url: good.url, max_attempts: 4 } },
      { name: 'bad', type: 'webhook', settings: { url: bad.url, max_attempts: 4, retry_delay_s: 0.05 } },
    ],
  });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await t.stop();
  await Promise.all([good.close(), bad.close()]);
});

describe('POST /notification-channels/{name}/test', () => {
  it('sends one test message and answers whether the receiver took it; a failure is tried once and explained without the secret', async () => {
    const ok = await t.api.post('/api/v1/notification-channels/good/test');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ channel: 'good', type: 'webhook', ok: true, attempts: 1, error: null });
    expect(ok.body.detail).toMatch(/^Delivered/);
    expect(good.requests).toHaveLength(1);
    expect(good.requests[0].body.alert).toMatchObject({ rule: 'test', severity: 'info' });
    expect(good.requests[0].body.text).toContain('Test message to channel good');

    bad.failNext(5, 503);
    const failed = await t.api.post('/api/v1/notification-channels/bad/test');
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ channel: 'bad', ok: false, attempts: 1, error: 'webhook answered HTTP 503' });
    expect(bad.requests).toHaveLength(1);
    expect(JSON.stringify(failed.body)).not.toContain(bad.secretPath);

    const rows = (await t.api.get('/api/v1/audit?action=notification_channel.test')).body.items;
    expect(rows.map((r: any) => [r.target, r.details.ok])).toEqual([
      ['notification-channel:bad', false],
      ['notification-channel:good', true],
    ]);
  });

  it('the desktop channel is tested on the live stream; unknown channels are 404; admins only', async () => {
    const res = await t.api.post('/api/v1/notification-channels/desktop/test');
    expect(res.body).toMatchObject({ channel: 'desktop', type: 'desktop', ok: true });
    expect(await eventually(async () => seen.find((e) => e.type === 'alert.test'), Boolean, 'the alert.test event')).toMatchObject({ channel: 'desktop', alert: { rule: 'test' } });
    expect((await t.api.post('/api/v1/notification-channels/nope/test')).status).toBe(404);
    const operator = await t.userWith('operator');
    expect((await operator.api.post('/api/v1/notification-channels/good/test')).status).toBe(403);
  });
});

describe('audit filters, export and live rows', () => {
  it('filters by an action prefix and by result', async () => {
    await createAgent(t.api);
    const reader = await t.userWith('read-only');
    await reader.api.post('/api/v1/agents', {});
    const users = (await t.api.get('/api/v1/audit?action=user.*')).body.items;
    expect(users.length).toBeGreaterThan(0);
    expect(users.every((r: any) => r.action.startsWith('user.'))).toBe(true);
    const denied = (await t.api.get('/api/v1/audit?result=denied')).body.items;
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((r: any) => r.result === 'denied')).toBe(true);
    // `_` is literal in a prefix, not a wildcard.
    expect((await t.api.get('/api/v1/audit?action=user_*')).body.items).toEqual([]);
    const badRes = await t.api.get('/api/v1/audit?result=maybe');
    expect(badRes.status).toBe(400);
    expect(badRes.body.error.details[0].path).toBe('result');
  });

  it('exports every matching row as NDJSON or CSV, newest first, across more than one batch', async () => {
    const admin = await t.userWith('admin');
    const download = async (query: string) => {
      const res = await fetch(new URL(`/api/v1/audit/export?${query}`, t.url), { headers: { Authorization: `Bearer ${admin.session.access_token}` } });
      return { status: res.status, headers: res.headers, body: await res.text() };
    };
    const before = new Date().toISOString();
    for (let i = 0; i < 3; i++) await createAgent(t.api);
    const nd = await download(`action=agent.*&from=${encodeURIComponent(before)}`);
    expect(nd.status).toBe(200);
    expect(nd.headers.get('content-type')).toContain('application/x-ndjson');
    expect(nd.headers.get('content-disposition')).toMatch(/attachment; filename="opmas-audit-.*\.ndjson"/);
    const lines = String(nd.body).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBe(3);
    expect(lines.every((l) => l.action.startsWith('agent.'))).toBe(true);
    expect(lines[0].id).toBeGreaterThan(lines[2].id);
    const listed = (await t.api.get(`/api/v1/audit?action=agent.*&from=${encodeURIComponent(before)}`)).body.items;
    expect(lines).toEqual(listed);

    const csv = await download(`format=csv&action=agent.*&from=${encodeURIComponent(before)}`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const rows = String(csv.body).trim().split('\r\n');
    expect(rows[0]).toBe('id,time,actor_type,actor_id,actor_name,role,action,target,result,status,source,correlation_id,before,after,details');
    expect(rows).toHaveLength(4);
    expect(rows[1].split(',')[0]).toBe(String(lines[0].id));

    // More rows than one read (1000): nothing lost at the seams.
    const rowsToAdd = Array.from({ length: 1100 }, (_, i) => ({ actor_type: 'user', actor_name: 'bulk', action: 'bench.row', target: `n:${i}`, result: 'success' }));
    await t.ams.db.knex.batchInsert('audit_log', rowsToAdd, 500);
    const all = await download('action=bench.row');
    const got = String(all.body).trim().split('\n').map((l) => JSON.parse(l).target);
    expect(got).toHaveLength(1100);
    expect(new Set(got).size).toBe(1100);

    const badRes = await t.api.get('/api/v1/audit/export?format=xml&from=yesterday');
    expect(badRes.status).toBe(400);
    expect(badRes.body.error.details.map((d: any) => d.path).sort()).toEqual(['format', 'from']);
    const operator = await t.userWith('operator');
    expect((await operator.api.get('/api/v1/audit/export')).status).toBe(403);
  });

  it('publishes each row as it is written (audit.appended)', async () => {
    const agent = await createAgent(t.api);
    const event = await eventually(
      async () => seen.find((e) => e.type === 'audit.appended' && (e as any).entry.action === 'agent.create' && (e as any).entry.target === agent.id),
      (e) => e !== undefined,
      'the audit row on the bus',
    );
    expect((event as any).entry).toMatchObject({ result: 'success', actor: { name: 'admin' } });
  });
});

describe('GET /status/counts', () => {
  it('answers the agents per process and health status at the end of each bucket, from the history', async () => {
    // Nothing of this test happens in the bucket that holds t0 (buckets of 1 s).
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    const a = await createAgent(t.api);
    const b = await createAgent(t.api);
    const status = t.ams.services.status;
    await status.transition(a.id, { to: 'starting', event: 'start_requested', details: {} });
    await status.transition(a.id, { to: 'running', event: 'process_started', details: { pid: 1 } });
    await status.setHealth(a.id, 'healthy', []);
    const mid = Date.now();
    await new Promise((r) => setTimeout(r, 1100));
    await status.transition(a.id, { to: 'failed', event: 'process_exited', details: { exit_code: 1 } });
    const res = await t.api.get(`/api/v1/status/counts?from=${t0 - 1000}&to=${Date.now() + 1000}&step=1s`);
    expect(res.status).toBe(200);
    const { t: times, process, health } = res.body;
    const at = (ms: number) => times.findIndex((x: number) => x <= ms && ms < x + 1000);
    // Other tests' agents are in the counts too: compare with the bucket that holds t0.
    const before = at(t0);
    const running = at(mid);
    const last = times.length - 1;
    expect(process.registered[running] - process.registered[before]).toBe(1); // b registered, a moved on
    expect(process.running[running] - process.running[before]).toBe(1);
    expect(process.running[last] - process.running[before]).toBe(0);
    expect(process.failed[last] - process.failed[before]).toBe(1);
    expect(health.healthy[last] - health.healthy[before]).toBe(1);
    void b;
    const total = (i: number) => Object.values(process).reduce((s: number, col: any) => s + col[i], 0);
    expect(total(last) - total(before)).toBe(2);
    const badRes = await t.api.get('/api/v1/status/counts?from=later&colour=red');
    expect(badRes.status).toBe(400);
    expect(badRes.body.error.details.map((d: any) => d.path).sort()).toEqual(['colour', 'from']);
  });
});

describe('restart counts', () => {
  it('each agent carries its process starts after the first', async () => {
    const a = await createAgent(t.api);
    const rows = (n: number) => Array.from({ length: n }, () => ({ agent_id: a.id, event_type: 'process_started', from_status: 'starting', to_status: 'running', details: '{}' }));
    expect((await t.api.get(`/api/v1/agents/${a.id}`)).body.restart_count).toBe(0);
    await t.ams.db.knex('agent_status_history').insert(rows(1));
    expect((await t.api.get(`/api/v1/agents/${a.id}`)).body.restart_count).toBe(0);
    await t.ams.db.knex('agent_status_history').insert(rows(3));
    expect((await t.api.get(`/api/v1/agents/${a.id}`)).body.restart_count).toBe(3);
    const listed = (await t.api.get('/api/v1/agents?limit=500')).body.items.find((x: any) => x.id === a.id);
    expect(listed.restart_count).toBe(3);
  });
});
