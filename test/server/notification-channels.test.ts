// Notification channels end to end: configuration through the API (secrets masked, kept on a
// round trip, encrypted at rest, never logged), routing (default route, escalation to the
// agent's recovery policy), webhook delivery with retries against a real HTTP receiver, and
// SMTP delivery to a real SMTP server.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEventInput } from '../../server/events/bus.js';
import { publishDelivered } from '../helpers/events.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { startSmtpSink, startWebhookReceiver, type SmtpSink, type WebhookReceiver } from '../helpers/receivers.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
let envHook: WebhookReceiver;
let ops: WebhookReceiver;
let pager: WebhookReceiver;
let sink: SmtpSink;
const env: NodeJS.ProcessEnv = {};
const smtpUser = 'ams-mailer';
const smtpPassword = `smtp-${randomBytes(9).toString('hex')}`;
const envSmtpPassword = `envsmtp-${randomBytes(9).toString('hex')}`;
recordSecret(smtpPassword, envSmtpPassword);

beforeAll(async () => {
  [envHook, ops, pager, sink] = await Promise.all([startWebhookReceiver(), startWebhookReceiver(), startWebhookReceiver(), startSmtpSink({ user: smtpUser, password: smtpPassword })]);
  Object.assign(env, {
    OPMAS_ALERT_WEBHOOK_URL: envHook.url,
    OPMAS_SMTP_URL: `smtp://${smtpUser}:${envSmtpPassword}@127.0.0.1:${sink.port}`,
    OPMAS_SMTP_TO: 'oncall@example.org',
    OPMAS_ALERT_MIN_SEVERITY: 'critical',
    OPMAS_ALERT_CHANNELS: 'desktop',
  });
  t = await startTestAms({ env });
});
afterAll(async () => {
  await t.stop();
  await Promise.all([envHook.close(), ops.close(), pager.close(), sink.close()]);
});

const publish = async (e: AmsEventInput) => {
  await publishDelivered(t.ams.services.events, e);
  await t.ams.services.alerts.settled();
};
const critical = (agentId: string, metric: string): AmsEventInput => ({
  type: 'health.changed', agent_id: agentId, from: 'healthy', to: 'critical',
  reasons: [{ kind: 'threshold', metric, value: 99, threshold: 90, level: 'critical' }],
});
const deliveriesOf = async (alertId: number) => (await t.api.get(`/api/v1/alerts/${alertId}/deliveries`)).body.items as any[];
const alertOf = async (agentId: string) => (await t.api.get(`/api/v1/alerts?agent_id=${agentId}`)).body.items[0];

const channelsBody = (over: { opsSettings?: Record<string, unknown>; routing?: Record<string, unknown> } = {}) => ({
  channels: [
    { name: 'ops', type: 'webhook', settings: { url: ops.url, retry_delay_s: 0.05, timeout_s: 5, max_attempts: 4, ...over.opsSettings } },
    { name: 'pager', type: 'webhook', min_severity: 'critical', settings: { url: pager.url, retry_delay_s: 0.05 } },
    { name: 'mail', type: 'email', settings: { host: '127.0.0.1', port: sink.port, user: smtpUser, password: smtpPassword, from: 'OPMAS <ams@example.org>', to: ['ops@example.org', 'lead@example.org'], retry_delay_s: 0.05 } },
  ],
  routing: { min_severity: 'critical', channels: ['ops'], escalation_channels: ['mail'], ...over.routing },
});

describe('channel configuration', () => {
  it('lists the built-in desktop channel and the environment channels with their secrets masked, and takes the secrets out of the environment', async () => {
    const res = await t.api.get('/api/v1/notification-channels');
    expect(res.status).toBe(200);
    expect(res.body.channels.map((c: any) => [c.name, c.type, c.source, c.read_only])).toEqual([
      ['desktop', 'desktop', 'builtin', true],
      ['webhook', 'webhook', 'environment', true],
      ['email', 'email', 'environment', true],
    ]);
    expect(res.body.channels[1].settings.url).toBe(`${new URL(envHook.url).origin}/********`);
    expect(res.body.channels[2].settings).toMatchObject({ host: '127.0.0.1', port: sink.port, user: smtpUser, password: '********', to: ['oncall@example.org'] });
    expect(res.body.routing).toEqual({ min_severity: 'critical', channels: ['desktop'], escalation_channels: [], source: 'environment' });
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(envHook.secretPath);
    expect(text).not.toContain(envSmtpPassword);
    expect(env.OPMAS_ALERT_WEBHOOK_URL).toBeUndefined();
    expect(env.OPMAS_SMTP_URL).toBeUndefined();
  });

  it('PUT stores channels and routing: answered masked, encrypted at rest, audited without secrets', async () => {
    const res = await t.api.put('/api/v1/notification-channels', channelsBody());
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.body.channels.map((c: any) => [c.name, c]));
    expect(byName.ops).toMatchObject({ source: 'database', read_only: false, enabled: true, settings: { url: `${new URL(ops.url).origin}/********`, retry_delay_s: 0.05 } });
    expect(byName.mail.settings).toMatchObject({ password: '********', port: sink.port, secure: false, to: ['ops@example.org', 'lead@example.org'] });
    expect(byName.pager.min_severity).toBe('critical');
    expect(res.body.routing).toEqual({ min_severity: 'critical', channels: ['ops'], escalation_channels: ['mail'], source: 'database' });
    expect(JSON.stringify(res.body)).not.toContain(ops.secretPath);

    const rows = await t.ams.db.knex('notification_channels').select('name', 'secrets', 'settings');
    for (const row of rows) {
      expect(row.secrets).toMatch(/^v1\./);
      expect(`${row.secrets}${JSON.stringify(row.settings)}`).not.toContain(ops.secretPath.slice(7));
      expect(`${row.secrets}${JSON.stringify(row.settings)}`).not.toContain(smtpPassword);
    }

    const audit = (await t.api.get('/api/v1/audit?action=notification_channels.update')).body.items;
    expect(audit).toHaveLength(1);
    expect(audit[0].after.channels.map((c: any) => c.name)).toEqual(['desktop', 'webhook', 'email', 'mail', 'ops', 'pager']);
    const auditText = JSON.stringify(audit);
    for (const secret of [ops.secretPath, pager.secretPath, smtpPassword, envHook.secretPath, envSmtpPassword]) expect(auditText).not.toContain(secret);
  });

  it('a GET answer sent back unchanged keeps every secret (masked values and read-only entries are accepted)', async () => {
    const current = (await t.api.get('/api/v1/notification-channels')).body;
    const res = await t.api.put('/api/v1/notification-channels', current);
    expect(res.status).toBe(200);
    const agent = await createAgent(t.api);
    await publish(critical(agent.id, 'cpu_percent'));
    const alert = await alertOf(agent.id);
    await eventually(() => deliveriesOf(alert.id), (d) => d.length === 2 && d.every((x) => x.status === 'delivered'), 'deliveries after the round trip');
    expect(ops.requests.at(-1)!.path).toBe(new URL(ops.url).pathname + new URL(ops.url).search);
    expect(sink.messages.at(-1)!.auth).toEqual({ username: smtpUser, password: smtpPassword });
  });

  it('names every bad field (400), refuses changes to read-only channels, and is admin-only', async () => {
    const bad = await t.api.put('/api/v1/notification-channels', {
      channels: [
        { name: 'new-hook', type: 'webhook', settings: {} },
        { name: 'desktop', type: 'desktop' },
        { name: 'm2', type: 'email', settings: { host: 'h', from: 'not-an-address', to: [] } },
        { name: 'bad name!', type: 'webhook', settings: { url: 'ftp://x' } },
        { name: 'x', type: 'pigeon', settings: {} },
      ],
      routing: { channels: ['nowhere'] },
      colour: 'red',
    });
    expect(bad.status).toBe(400);
    const paths = (bad.body.error.details as Array<{ path: string }>).map((d) => d.path).sort();
    expect(paths).toEqual(['channels.2.settings.from', 'channels.2.settings.to', 'channels.3.name', 'channels.3.settings.url', 'channels.4.type', 'colour']);

    const semantic = await t.api.put('/api/v1/notification-channels', {
      channels: [{ name: 'new-hook', type: 'webhook', settings: {} }, { name: 'desktop', type: 'desktop' }, { name: 'webhook', type: 'webhook', settings: { url: 'https://example.org/x' } }],
      routing: { channels: ['nowhere'] },
    });
    expect(semantic.status).toBe(400);
    expect((semantic.body.error.details as Array<{ path: string; reason: string }>).map((d) => [d.path, d.reason])).toEqual([
      ['channels.0.settings.url', 'is required'],
      ['channels.1.name', '"desktop" is the built-in channel and cannot be changed here'],
      ['channels.2.name', '"webhook" is the environment channel and cannot be changed here'],
      ['routing.channels.0', 'there is no channel named "nowhere"'],
    ]);
    // Nothing was changed by the refused requests.
    expect((await t.api.get('/api/v1/notification-channels')).body.channels.map((c: any) => c.name)).toContain('ops');

    const operator = await t.userWith('operator');
    expect((await operator.api.get('/api/v1/notification-channels')).status).toBe(403);
    expect((await operator.api.put('/api/v1/notification-channels', channelsBody())).status).toBe(403);
  });
});

describe('deliveries', () => {
  beforeAll(async () => {
    expect((await t.api.put('/api/v1/notification-channels', channelsBody())).status).toBe(200);
  });

  it('webhook: retried with backoff after failures until the receiver takes it; Slack-compatible body; recorded', async () => {
    const agent = await createAgent(t.api);
    const before = ops.requests.length;
    ops.failNext(2, 503);
    await publish(critical(agent.id, 'memory_mb'));
    const alert = await alertOf(agent.id);
    const deliveries = await eventually(() => deliveriesOf(alert.id), (d) => d.find((x) => x.channel === 'ops')?.status === 'delivered', 'ops delivery');
    expect(deliveries.find((d) => d.channel === 'ops')).toMatchObject({ channel_type: 'webhook', kind: 'raised', attempts: 3, last_error: 'webhook answered HTTP 503' });
    const received = ops.requests.slice(before);
    expect(received).toHaveLength(3);
    const body = received[2].body;
    expect(received[2].headers['content-type']).toBe('application/json');
    expect(body.text).toBe(`[CRITICAL] ${alert.title}: ${alert.message}`);
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: `[CRITICAL] ${alert.title}` } });
    expect(body).toMatchObject({ event: 'alert.raised', alert: { id: alert.id, rule: 'resource_threshold', severity: 'critical', agent_id: agent.id } });
  });

  it('webhook: a 4xx is not retried; retries give up after max_attempts', async () => {
    const agent = await createAgent(t.api);
    ops.failNext(1, 400);
    await publish(critical(agent.id, 'm400'));
    const a1 = await alertOf(agent.id);
    await eventually(() => deliveriesOf(a1.id), (d) => d.find((x) => x.channel === 'ops')?.status === 'failed', 'failed delivery');
    expect((await deliveriesOf(a1.id)).find((d) => d.channel === 'ops')).toMatchObject({ attempts: 1, last_error: 'webhook answered HTTP 400' });

    expect((await t.api.put('/api/v1/notification-channels', channelsBody({ opsSettings: { max_attempts: 2 } }))).status).toBe(200);
    ops.failNext(5, 500);
    await publish(critical(agent.id, 'm500'));
    const a2 = (await t.api.get(`/api/v1/alerts?agent_id=${agent.id}&limit=1`)).body.items[0];
    expect(a2.details.metric).toBe('m500');
    await eventually(() => deliveriesOf(a2.id), (d) => d.find((x) => x.channel === 'ops')?.status === 'failed', 'exhausted delivery');
    expect((await deliveriesOf(a2.id)).find((d) => d.channel === 'ops')).toMatchObject({ attempts: 2, last_error: 'webhook answered HTTP 500' });
    ops.failNext(0);
    expect((await t.api.put('/api/v1/notification-channels', channelsBody())).status).toBe(200);
  });

  it('email: critical alerts escalate to the escalation channel; the SMTP server gets the message with the configured login', async () => {
    const agent = await createAgent(t.api);
    const before = sink.messages.length;
    await publish(critical(agent.id, 'cpu_percent'));
    const alert = await alertOf(agent.id);
    await eventually(() => deliveriesOf(alert.id), (d) => d.find((x) => x.channel === 'mail')?.status === 'delivered', 'mail delivery');
    const mail = sink.messages.slice(before).find((m) => new RegExp(`^X-OPMAS-Alert-Id: ${alert.id}\r?$`, 'im').test(m.raw))!;
    expect(mail).toBeDefined();
    expect(mail.auth).toEqual({ username: smtpUser, password: smtpPassword });
    expect(mail.from).toBe('ams@example.org');
    expect(mail.to.sort()).toEqual(['lead@example.org', 'ops@example.org']);
    expect(mail.subject).toBe(`[OPMAS] [CRITICAL] ${alert.title}`);
    expect(mail.text).toContain(alert.message);
    expect(mail.text).toContain(`Agent: ${agent.id}`);
    expect(mail.text).toContain('"metric": "cpu_percent"');
  });

  it("escalations go to the channels of the agent's recovery policy; unknown names are recorded as failed", async () => {
    const agent = await createAgent(t.api);
    expect((await t.api.put(`/api/v1/agents/${agent.id}/recovery/policy`, { notification_channels: ['pager', 'nowhere'] })).status).toBe(200);
    const before = pager.requests.length;
    await publish({ type: 'recovery.escalated', agent_id: agent.id, attempt: 3, max_attempts: 3, trigger: 'process_exit', error: 'exit code 1' });
    const alert = await alertOf(agent.id);
    const deliveries = await eventually(() => deliveriesOf(alert.id), (d) => d.length === 3 && d.every((x) => x.status !== 'pending' && x.status !== 'retrying'), 'escalation deliveries');
    expect(deliveries.map((d) => [d.channel, d.status]).sort()).toEqual([['nowhere', 'failed'], ['ops', 'delivered'], ['pager', 'delivered']]);
    expect(deliveries.find((d) => d.channel === 'nowhere').last_error).toBe('there is no channel named "nowhere"');
    expect(pager.requests.slice(before).map((r) => r.body.alert.rule)).toEqual(['recovery_escalated']);
    // Without a policy, the event's channels (then the routing's escalation channels) are used.
    const other = await createAgent(t.api);
    await publish({ type: 'recovery.escalated', agent_id: other.id, attempt: 2, details: { notification_channels: ['pager'] } });
    const a2 = await alertOf(other.id);
    await eventually(() => deliveriesOf(a2.id), (d) => d.some((x) => x.channel === 'pager' && x.status === 'delivered'), 'event-named channel');
    expect((await deliveriesOf(a2.id)).map((d) => d.channel).sort()).toEqual(['ops', 'pager']);
  });

  it('a resolved alert is announced to the channels that were told it was raised, and only those', async () => {
    const agent = await createAgent(t.api);
    await publish(critical(agent.id, 'disk'));
    const alert = await alertOf(agent.id);
    await eventually(() => deliveriesOf(alert.id), (d) => d.length === 2 && d.every((x) => x.status === 'delivered'), 'raise deliveries');
    const before = ops.requests.length;
    await publish({ type: 'health.changed', agent_id: agent.id, from: 'critical', to: 'healthy', reasons: [] });
    const all = await eventually(() => deliveriesOf(alert.id), (d) => d.filter((x) => x.kind === 'resolved' && x.status === 'delivered').length === 2, 'resolution deliveries');
    expect(all.filter((d) => d.kind === 'resolved').map((d) => d.channel).sort()).toEqual(['mail', 'ops']);
    expect(ops.requests.slice(before).map((r) => r.body.text.slice(0, 10))).toEqual(['[RESOLVED]']);
  });

  it('warnings below the route minimum are not sent; the desktop channel is recorded as delivered when routed', async () => {
    expect((await t.api.put('/api/v1/notification-channels', channelsBody({ routing: { min_severity: 'warning', channels: ['desktop', 'pager'] } }))).status).toBe(200);
    const agent = await createAgent(t.api);
    await publish({ type: 'status.changed', agent_id: agent.id, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: 1 } });
    const alert = await alertOf(agent.id);
    expect(alert.severity).toBe('warning');
    await t.ams.services.alerts.settled();
    // pager takes only critical alerts (its own minimum); desktop is the live stream itself.
    expect((await deliveriesOf(alert.id)).map((d) => [d.channel, d.status, d.attempts])).toEqual([['desktop', 'delivered', 1]]);
  });

  it('a delivery left unfinished when the AMS stopped (between retries) is sent after it starts again', async () => {
    expect((await t.api.put('/api/v1/notification-channels', channelsBody({ opsSettings: { retry_delay_s: 60 }, routing: { escalation_channels: [] } }))).status).toBe(200);
    const agent = await createAgent(t.api);
    ops.failNext(1, 503);
    await publishDelivered(t.ams.services.events, critical(agent.id, 'open_files'));
    const alert: any = await eventually(() => alertOf(agent.id), Boolean, 'the alert');
    await eventually(() => deliveriesOf(alert.id), (d) => d.find((x) => x.channel === 'ops')?.status === 'retrying', 'the first attempt refused');
    const before = ops.requests.length;
    await t.restart();
    const done = await eventually(() => deliveriesOf(alert.id), (d) => d.find((x) => x.channel === 'ops')?.status === 'delivered', 'the delivery resumed', 30_000);
    expect(done.filter((d) => d.channel === 'ops')).toHaveLength(1);
    // Sent once more after the start, as the raise it was.
    expect(ops.requests.slice(before).filter((r) => r.body.alert?.id === alert.id).map((r) => r.body.event)).toEqual(['alert.raised']);
  });

  it('no log line holds a channel secret', async () => {
    await t.ams.services.alerts.settled();
    const log = fs.readFileSync(t.logPath, 'utf8');
    expect(log).toContain('alert notification delivered');
    for (const secret of [ops.secretPath, pager.secretPath, envHook.secretPath, smtpPassword, envSmtpPassword]) expect(log).not.toContain(secret);
  });
});
