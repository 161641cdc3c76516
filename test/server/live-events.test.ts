// WS /api/v1/agents/ws against the real AMS: authentication (header, subprotocol, none,
// revoked, expired), events in order, replay and resync, filters, permission filtering,
// message size, origins; and, on a stream with tight limits attached to its own server,
// liveness pings, slow consumers, coalesced samples and shutdown.
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AmsEventInput } from '../../server/events/bus.js';
import { createLiveStream, type LiveStream, type LiveStreamOptions } from '../../server/live/stream.js';
import { apiClient, startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { validPackage, writePackage } from '../helpers/packages.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

interface Conn {
  ws: WebSocket;
  messages: any[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the HTTP status when the server refused the upgrade. */
  refused: Promise<number>;
  waitFor(pred: (m: any) => boolean, what: string): Promise<any>;
  close(): Promise<void>;
}

const opened: Conn[] = [];

function connect(baseUrl: string, opts: { token?: string; protocols?: string[]; query?: string; headers?: Record<string, string>; ws?: WebSocket.ClientOptions } = {}): Conn {
  const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/agents/ws${opts.query ?? ''}`;
  const ws = new WebSocket(url, opts.protocols ?? [], {
    ...opts.ws,
    headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
  });
  const messages: any[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const refused = new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  const conn: Conn = {
    ws,
    messages,
    closed,
    refused,
    waitFor: (pred, what) => eventually(async () => messages.find(pred), (m) => m !== undefined, what, 15_000, 20),
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
  opened.push(conn);
  return conn;
}

const hello = (c: Conn) => c.waitFor((m) => m.type === 'hello', 'hello');
const eventsOf = (c: Conn) => c.messages.filter((m) => typeof m.id === 'number');

let t: TestAms;
let token: string;
let A: string;
let B: string;
const publish = (e: AmsEventInput) => t.ams.services.events.publish(e);
const status = (agentId: string, to: 'running' | 'stopped' = 'running'): AmsEventInput => ({ type: 'status.changed', agent_id: agentId, from: 'starting', to, event_type: 'process_started', details: {} });
const logLine = (agentId: string, message = 'hello'): AmsEventInput => ({ type: 'log.line', agent_id: agentId, level: 'INFO', message, timestamp: new Date().toISOString(), source: 'agent' });

beforeAll(async () => {
  t = await startTestAms();
  token = (await t.api.post('/api/v1/auth/login', { username: 'admin', password: t.adminPassword })).body.access_token;
  recordSecret(token);
  A = (await createAgent(t.api)).id;
  B = (await createAgent(t.api)).id;
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await t.stop();
});

describe('authentication', () => {
  it('takes the bearer token from the Authorization header and starts with hello', async () => {
    const c = connect(t.url, { token });
    const h = await hello(c);
    expect(h).toMatchObject({ type: 'hello', last_event_id: t.ams.services.events.lastId(), principal: { name: 'admin', role: 'admin', agent_id: null } });
    expect(c.messages[0].type).toBe('hello');
    expect(c.ws.protocol).toBe('');
    await c.close();
  });

  it('takes it from the bearer.<token> subprotocol; selects opmas.v1 when offered, else the bearer one', async () => {
    const both = connect(t.url, { protocols: ['opmas.v1', `bearer.${token}`] });
    await hello(both);
    expect(both.ws.protocol).toBe('opmas.v1');
    const bearerOnly = connect(t.url, { protocols: [`bearer.${token}`] });
    expect((await hello(bearerOnly)).protocol).toBe('bearer');
    expect(bearerOnly.ws.protocol).toBe(`bearer.${token}`);
    expect((await hello(both)).protocol).toBe('opmas.v1');
    await Promise.all([both.close(), bearerOnly.close()]);
  });

  it('closes with 4401 without a token or with an invalid one', async () => {
    const none = connect(t.url);
    expect(await none.closed).toEqual({ code: 4401, reason: expect.stringContaining('unauthenticated') });
    const bad = connect(t.url, { token: 'not-a-token' });
    expect((await bad.closed).code).toBe(4401);
    const badProtocol = connect(t.url, { protocols: ['opmas.v1', 'bearer.nope'] });
    const closed = await badProtocol.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toContain('invalid_token');
    expect(none.messages.concat(bad.messages, badProtocol.messages)).toEqual([]);
  });

  it('closes with 4401 token_revoked once the token is revoked (logout)', async () => {
    const user = await t.userWith('read-only');
    const c = connect(t.url, { token: user.session.access_token });
    await hello(c);
    expect((await user.api.post('/api/v1/auth/logout', {})).status).toBe(204);
    expect(await c.closed).toEqual({ code: 4401, reason: 'token_revoked' });
  });

  it('refuses browser origins other than its own, the CORS allow-list and the desktop console (403 before the handshake)', async () => {
    const evil = connect(t.url, { token, headers: { Origin: 'http://evil.example' } });
    expect(await evil.refused).toBe(403);
    for (const origin of [t.url, 'opmas://console']) {
      const ok = connect(t.url, { token, headers: { Origin: origin } });
      await hello(ok);
      await ok.close();
    }
  });
});

describe('events', () => {
  it('arrive in order with increasing ids, in the {id, type, time, agent_id, ...event} shape', async () => {
    const c = connect(t.url, { token });
    await hello(c);
    for (let i = 0; i < 30; i++) publish(i % 3 === 0 ? status(A) : logLine(i % 2 ? A : B, `line ${i}`));
    await eventually(async () => eventsOf(c).length, (n) => n >= 30, '30 events');
    const got = eventsOf(c);
    expect(got.map((e) => e.id)).toEqual([...got.map((e) => e.id)].sort((a, b) => a - b));
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    // Each kind in the order it was published (state events go through the outbox, samples and log lines straight to the stream).
    expect(got.filter((e) => e.type === 'log.line').map((e) => e.message)).toEqual(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0).map((i) => `line ${i}`));
    expect(got.filter((e) => e.type === 'status.changed')).toHaveLength(10);
    expect(got.find((e) => e.type === 'status.changed')).toEqual({ id: expect.any(Number), type: 'status.changed', time: expect.any(String), agent_id: A, from: 'starting', to: 'running', event_type: 'process_started', details: {} });
    await c.close();
  });

  it('replays what a client missed when it reconnects with last_event_id, then goes on live', async () => {
    const first = connect(t.url, { token });
    await hello(first);
    publish(logLine(A, 'before'));
    const last = await first.waitFor((m) => m.message === 'before', 'first event');
    await first.close();
    for (let i = 0; i < 5; i++) publish(logLine(A, `missed ${i}`));
    const again = connect(t.url, { token, query: `?last_event_id=${last.id}` });
    await again.waitFor((m) => m.message === 'missed 4', 'replay');
    publish(logLine(A, 'live'));
    await again.waitFor((m) => m.message === 'live', 'live event');
    expect(again.messages[0].type).toBe('hello');
    expect(eventsOf(again).map((m) => m.message)).toEqual(['missed 0', 'missed 1', 'missed 2', 'missed 3', 'missed 4', 'live']);
    expect(eventsOf(again)[0].id).toBe(last.id + 1);
    await again.close();
  });

  it('sends resync when the missed events are no longer kept, or the id is from another run', async () => {
    const from = t.ams.services.events.lastId();
    for (let i = 0; i < 10_050; i++) publish(logLine(A, `flood ${i}`));
    await eventually(async () => t.ams.services.events.lastId(), (id) => id >= from + 10_050, 'the flood delivered', 60_000);
    const old = connect(t.url, { token, query: `?last_event_id=${from}` });
    const resync = await old.waitFor((m) => m.type === 'resync', 'resync');
    expect(resync).toMatchObject({ last_event_id: t.ams.services.events.lastId(), reason: 'events after last_event_id are no longer kept' });
    expect(eventsOf(old)).toEqual([]);
    const future = connect(t.url, { token, query: `?last_event_id=${t.ams.services.events.lastId() + 1000}` });
    expect((await future.waitFor((m) => m.type === 'resync', 'resync')).reason).toContain('ahead of');
    const bad = connect(t.url, { token, query: '?last_event_id=-3' });
    expect((await bad.closed).code).toBe(4400);
    await Promise.all([old.close(), future.close()]);
  });

  it('filters by agent and type from the query, and changes them with a subscribe message', async () => {
    const c = connect(t.url, { token, query: `?agent_id=${A}&types=status.,alert.` });
    expect((await hello(c)).filters).toEqual({ agent_ids: [A], types: ['status.', 'alert.'] });
    publish(status(B));
    publish(logLine(A, 'filtered out'));
    publish({ type: 'alert.raised', agent_id: A, alert: { id: 1 } });
    publish(status(A, 'stopped'));
    await c.waitFor((m) => m.type === 'status.changed' && m.to === 'stopped', 'status of A');
    expect(eventsOf(c).map((e) => [e.type, e.agent_id])).toEqual([['alert.raised', A], ['status.changed', A]]);

    c.ws.send(JSON.stringify({ action: 'subscribe', types: ['log'] }));
    expect(await c.waitFor((m) => m.type === 'subscribed', 'subscribed')).toMatchObject({ agent_ids: [A], types: ['log'] });
    publish(status(A));
    publish(logLine(B, 'other agent'));
    publish(logLine(A, 'wanted'));
    await c.waitFor((m) => m.message === 'wanted', 'log of A');
    expect(eventsOf(c).slice(2).map((e) => e.message ?? e.type)).toEqual(['wanted']);

    c.ws.send(JSON.stringify({ action: 'subscribe', agent_ids: null, types: ['Bad Type'] }));
    expect(await c.waitFor((m) => m.type === 'error', 'error')).toMatchObject({ code: 'invalid_filter', message: 'types: "Bad Type" is not valid' });
    c.ws.send('not json');
    await eventually(async () => c.messages.filter((m) => m.type === 'error').length, (n) => n === 2, 'second error');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    await c.close();
  });

  it('carries what the AMS really does: a package dropped in the agents directory, scanned and registered', async () => {
    const c = connect(t.url, { token, query: '?types=package.' });
    await hello(c);
    writePackage(path.join(t.dataDir, 'agents'), 'live-pkg', validPackage('LiveStreamAgent'));
    expect((await t.api.post('/api/v1/packages/rescan')).status).toBe(202);
    const registered = await c.waitFor((m) => m.type === 'package.registered', 'package.registered');
    expect(registered.path).toContain('live-pkg');
    expect(registered.agent_id).toEqual(expect.any(String));
    expect((await t.api.get(`/api/v1/agents/${registered.agent_id}`)).body.agent_name).toBe('LiveStreamAgent');
    const completed = await c.waitFor((m) => m.type === 'package.scan.completed', 'package.scan.completed');
    expect(completed.id).toBeGreaterThan(registered.id);
    await c.close();
  });

  it('alerts raised by the rules reach the stream as alert.* events', async () => {
    const c = connect(t.url, { token, query: `?types=alert.&agent_id=${B}` });
    await hello(c);
    publish({ type: 'status.changed', agent_id: B, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: 9 } });
    const raised = await c.waitFor((m) => m.type === 'alert.raised', 'alert.raised');
    expect(raised).toMatchObject({ agent_id: B, alert: { rule: 'agent_failed', severity: 'warning', status: 'open', agent_id: B } });
    publish(status(B));
    expect((await c.waitFor((m) => m.type === 'alert.resolved', 'alert.resolved')).alert).toMatchObject({ id: raised.alert.id, status: 'resolved' });
    await c.close();
  });
});

describe('permissions', () => {
  it('a role sees only the event families it may read', async () => {
    expect((await t.api.post('/api/v1/roles', { name: 'watcher', permissions: ['agents:read'] })).status).toBe(201);
    const watcher = await t.userWith('watcher');
    const ro = await t.userWith('read-only');
    const w = connect(t.url, { token: watcher.session.access_token });
    const r = connect(t.url, { token: ro.session.access_token });
    await Promise.all([hello(w), hello(r)]);
    publish(logLine(A, 'secret-ish log'));
    publish({ type: 'metrics.sample', agent_id: A, t: Date.now(), values: { cpu_percent: 1 } });
    publish({ type: 'alert.raised', agent_id: A, alert: { id: 2 } });
    publish({ type: 'config.applied', agent_id: A, version: 3 });
    publish(status(A, 'stopped'));
    await w.waitFor((m) => m.type === 'status.changed' && m.to === 'stopped', 'watcher status');
    await r.waitFor((m) => m.type === 'status.changed' && m.to === 'stopped', 'read-only status');
    expect(eventsOf(w).map((e) => e.type)).toEqual(['status.changed']);
    // (The directory watcher may still report scans of the package an earlier test dropped in.)
    expect(eventsOf(r).map((e) => e.type).filter((type) => !type.startsWith('package.'))).toEqual(['log.line', 'metrics.sample', 'alert.raised', 'config.applied', 'status.changed']);
    await Promise.all([w.close(), r.close()]);
  });

  it("an agent-bound principal sees only its agent's events, never alerts, and cannot follow another agent", async () => {
    const bound = await t.userWith('agent', A);
    const c = connect(t.url, { token: bound.session.access_token });
    expect((await hello(c)).principal).toMatchObject({ role: 'agent', agent_id: A });
    publish(logLine(B, 'not yours'));
    publish({ type: 'alert.raised', agent_id: A, alert: { id: 3 } });
    publish(logLine(A, 'yours'));
    await c.waitFor((m) => m.message === 'yours', 'own log');
    expect(eventsOf(c).map((e) => [e.type, e.agent_id])).toEqual([['log.line', A]]);
    c.ws.send(JSON.stringify({ action: 'subscribe', agent_ids: [B] }));
    expect(await c.waitFor((m) => m.type === 'error', 'forbidden')).toMatchObject({ code: 'forbidden' });
    const other = connect(t.url, { token: bound.session.access_token, query: `?agent_id=${B}` });
    expect((await other.closed).code).toBe(4403);
    await c.close();
  });

  it('closes with 4403 when the role may read no event at all', async () => {
    // Token administration reads no event family (audit:read now reads audit.appended).
    expect((await t.api.post('/api/v1/roles', { name: 'token-keeper', permissions: ['tokens:admin'] })).status).toBe(201);
    const keeper = await t.userWith('token-keeper');
    const c = connect(t.url, { token: keeper.session.access_token });
    expect((await c.closed).code).toBe(4403);
  });

  it('sends audit rows (audit.appended) to audit:read, and only to it', async () => {
    expect((await t.api.post('/api/v1/roles', { name: 'auditor-only', permissions: ['audit:read'] })).status).toBe(201);
    const auditor = await t.userWith('auditor-only');
    const reader = await t.userWith('read-only');
    const a = connect(t.url, { token: auditor.session.access_token });
    const r = connect(t.url, { token: reader.session.access_token });
    await Promise.all([hello(a), hello(r)]);
    const created = await t.api.post('/api/v1/roles', { name: 'audited-role', permissions: ['logs:read'] });
    expect(created.status).toBe(201);
    const row = await a.waitFor((m) => m.type === 'audit.appended' && m.entry?.target === 'role:audited-role', 'the audit row');
    expect(row.entry).toMatchObject({ action: 'role.create', result: 'success', actor: { name: 'admin' } });
    expect(r.messages.some((m) => m.type === 'audit.appended')).toBe(false);
    await a.close();
    await r.close();
  });
});

describe('limits', () => {
  it('a client message over maxPayload closes the socket with 1009', async () => {
    const c = connect(t.url, { token });
    await hello(c);
    c.ws.send(JSON.stringify({ action: 'subscribe', types: ['x'.repeat(40_000)] }));
    expect((await c.closed).code).toBe(1009);
  });
});

describe('stream with tight limits on its own server', () => {
  let server: http.Server;
  let stream: LiveStream;
  let url: string;
  const start = async (options: Partial<LiveStreamOptions>) => {
    server = http.createServer((_req, res) => res.writeHead(404).end());
    stream = createLiveStream({ events: t.ams.services.events, sessions: t.ams.security.sessions, logger: pino({ level: 'silent' }), corsOrigins: [], options });
    stream.attach(server, { secure: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const stop = async () => {
    await stream.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  it('pings: a client that answers stays, one that does not is dropped', async () => {
    await start({ pingIntervalMs: 100 });
    const good = connect(url, { token });
    const mute = connect(url, { token, ws: { autoPong: false } });
    await Promise.all([hello(good), hello(mute)]);
    let pings = 0;
    good.ws.on('ping', () => (pings += 1));
    expect((await mute.closed).code).toBe(1006);
    await eventually(async () => pings, (n) => n >= 3, 'three pings');
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
    await stop();
    expect(await good.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
  });

  it('coalesces metrics samples for a lagging client (newest per agent, ids still increasing), and drops one that stops reading', async () => {
    await start({ softBufferBytes: 64 * 1024, hardBufferBytes: 1024 * 1024 * 1024 });
    const lagging = connect(url, { token, query: `?agent_id=${A}` });
    await hello(lagging);
    const socket = (lagging.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const big = 'x'.repeat(512 * 1024);
    await eventually(async () => (publish(logLine(A, big)), stream.stats().buffered), (n) => n > 64 * 1024, 'a congested socket', 30_000, 0);
    for (let i = 0; i < 50; i++) publish({ type: 'metrics.sample', agent_id: A, t: i, values: { cpu_percent: i } });
    publish(logLine(A, 'after samples'));
    await eventually(async () => stream.stats().coalesced, (n) => n > 0, 'samples coalesced');
    socket.resume();
    await lagging.waitFor((m) => m.message === 'after samples', 'the log line after the samples');
    const samples = lagging.messages.filter((m) => m.type === 'metrics.sample');
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.length).toBeLessThan(50);
    const ids = eventsOf(lagging).map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // The newest sample was sent before the event that followed it.
    expect(samples.at(-1)!.values.cpu_percent).toBe(49);
    await stop();

    await start({ softBufferBytes: 64 * 1024, hardBufferBytes: 256 * 1024 });
    const stuck = connect(url, { token });
    await hello(stuck);
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(async () => (publish(logLine(A, big)), stream.stats().dropped_slow), (n) => n >= 1, 'slow client dropped', 30_000, 0);
    expect(stream.stats().clients).toBe(0);
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await stuck.closed;
    await stop();
  });
});

describe('token expiry and AMS shutdown', () => {
  it('closes with 4401 token_expired when the access token expires, and with 1001 when the AMS stops', async () => {
    const short = await startTestAms({ settings: { accessTokenTtlS: 10 } });
    try {
      const session = (await apiClient(short.url).post('/api/v1/auth/login', { username: 'admin', password: short.adminPassword })).body;
      recordSecret(session.access_token, session.refresh_token);
      const apiToken = (await short.api.post('/api/v1/tokens', { name: 'stream', role: 'read-only' })).body.token;
      recordSecret(apiToken);
      const expiring = connect(short.url, { token: session.access_token });
      const lasting = connect(short.url, { token: apiToken });
      await Promise.all([hello(expiring), hello(lasting)]);
      expect(await expiring.closed).toEqual({ code: 4401, reason: 'token_expired' });
      expect(lasting.ws.readyState).toBe(WebSocket.OPEN);
      await short.ams.close();
      expect(await lasting.closed).toEqual({ code: 1001, reason: 'server_shutdown' });
    } finally {
      await short.stop();
    }
  });
});
