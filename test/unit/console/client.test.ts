// The client's plumbing without a browser: the live stream (reconnect with last_event_id,
// duplicates dropped, resync, token refused), the browser session (refresh once at a time,
// signed out when refused), HTTP (401 renews and retries once) and the event intake (batches).
import { describe, expect, it, vi } from 'vitest';
import { createEventStream, reconnectDelayMs, streamUrlWith, type StreamStatus } from '../../../src-renderer/src/api/stream';
import { createBrowserSession } from '../../../src-renderer/src/api/session';
import { createHttpClient } from '../../../src-renderer/src/api/http';
import { ApiError } from '../../../src-renderer/src/api/errors';
import { createEventIntake } from '../../../src-renderer/src/store/event-intake';
import { createConsoleStore } from '../../../src-renderer/src/store/store';
import type { AmsClient } from '../../../src-renderer/src/api/client';
import type { LiveEvent } from '../../../src-renderer/src/api/types';
import { agent } from './agents';

class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.all.push(this);
  }
  send(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code = 1006, reason = '') {
    this.onclose?.({ code, reason });
  }
  close() {
    this.closed = true;
  }
}

function harness() {
  FakeSocket.all = [];
  const timers: Array<() => void> = [];
  const events: LiveEvent[] = [];
  const statuses: StreamStatus[] = [];
  let resyncs = 0;
  const renew = vi.fn(async () => true);
  const stream = createEventStream({
    url: async () => 'ws://ams/api/v1/agents/ws',
    token: async () => 'tok',
    onEvent: (e) => events.push(e),
    onResync: () => resyncs++,
    onStatus: (s) => statuses.push(s),
    renew,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    setTimeout: ((fn: () => void) => (timers.push(fn), timers.length)) as never,
    clearTimeout: () => undefined,
  });
  const socket = () => FakeSocket.all[FakeSocket.all.length - 1];
  const tick = async () => {
    await new Promise((r) => setTimeout(r, 0));
    while (timers.length) timers.shift()!();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { stream, events, statuses, resyncs: () => resyncs, socket, tick, renew };
}

describe('the live stream', () => {
  it('offers opmas.v1 and the bearer subprotocol, goes live on hello, and passes events on in order', async () => {
    const h = harness();
    h.stream.start();
    await h.tick();
    expect(h.socket().url).toBe('ws://ams/api/v1/agents/ws');
    expect(h.socket().protocols).toEqual(['opmas.v1', 'bearer.tok']);
    h.socket().send({ type: 'hello', last_event_id: 10 });
    expect(h.statuses.at(-1)?.state).toBe('live');
    h.socket().send({ id: 11, type: 'status.changed', agent_id: 'a', to: 'running' });
    h.socket().send({ id: 12, type: 'health.changed', agent_id: 'a', to: 'healthy' });
    expect(h.events.map((e) => e.id)).toEqual([11, 12]);
    expect(h.stream.lastEventId()).toBe(12);
    const live = h.socket();
    h.stream.stop();
    expect(live.closed).toBe(true);
  });

  it('reconnects after a drop asking for what it missed, and drops what it already had', async () => {
    const h = harness();
    h.stream.start();
    await h.tick();
    h.socket().send({ type: 'hello', last_event_id: 4 });
    h.socket().send({ id: 5, type: 'status.changed', agent_id: 'a', to: 'running' });
    h.socket().drop();
    expect(h.statuses.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1, reason: 'live stream dropped' });
    await h.tick();
    expect(h.socket().url).toBe('ws://ams/api/v1/agents/ws?last_event_id=5');
    h.socket().send({ type: 'hello', last_event_id: 7 });
    h.socket().send({ id: 5, type: 'status.changed', agent_id: 'a', to: 'running' });
    h.socket().send({ id: 6, type: 'status.changed', agent_id: 'a', to: 'stopping' });
    expect(h.events.map((e) => e.id)).toEqual([5, 6]);
    expect(h.statuses.at(-1)).toMatchObject({ state: 'live', attempt: 0 });
  });

  it('asks for a resync when the AMS no longer holds the missed events, and continues from its newest id', async () => {
    const h = harness();
    h.stream.start();
    await h.tick();
    h.socket().send({ type: 'hello', last_event_id: 100 });
    h.socket().drop();
    await h.tick();
    h.socket().send({ type: 'hello', last_event_id: 20 });
    h.socket().send({ type: 'resync', last_event_id: 20 });
    expect(h.resyncs()).toBe(1);
    h.socket().send({ id: 21, type: 'status.changed', agent_id: 'a', to: 'running' });
    expect(h.events.map((e) => e.id)).toEqual([21]);
  });

  it('renews the session when the token is refused, and counts failed attempts until it reports offline', async () => {
    const h = harness();
    h.stream.start();
    await h.tick();
    h.socket().drop(4401, 'invalid_token: jwt expired');
    expect(h.renew).toHaveBeenCalledTimes(1);
    expect(h.statuses.at(-1)?.reason).toBe('invalid token');
    await h.tick();
    h.socket().drop();
    await h.tick();
    h.socket().drop();
    expect(h.statuses.at(-1)).toMatchObject({ state: 'offline', attempt: 3 });
    const opened = h.socket();
    h.stream.stop();
    await h.tick();
    expect(h.socket()).toBe(opened); // stopped: no further attempt
  });

  it('backs off from half a second to 15 s, and builds the replay URL', () => {
    expect(reconnectDelayMs(1, () => 0.5)).toBe(500);
    expect(reconnectDelayMs(3, () => 0.5)).toBe(2000);
    expect(reconnectDelayMs(20, () => 0.5)).toBe(15_000);
    expect(reconnectDelayMs(1, () => 0)).toBe(400);
    expect(streamUrlWith('ws://h/ws?types=a', 9)).toBe('ws://h/ws?types=a&last_event_id=9');
  });
});

function fakeAms() {
  let refreshes = 0;
  let valid = 'r1';
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    const body = init.body ? JSON.parse(String(init.body)) : {};
    const json = (status: number, b: unknown) => new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });
    if (url.endsWith('/auth/login')) return body.password === 'right' ? json(200, { access_token: 'a1', refresh_token: 'r1', token_type: 'Bearer', expires_in: 900 }) : json(401, { error: { code: 'invalid_credentials', message: 'Wrong user name or password' } });
    if (url.endsWith('/auth/refresh')) {
      await new Promise((r) => setTimeout(r, 5));
      if (body.refresh_token !== valid) return json(401, { error: { code: 'refresh_token_reused', message: 'reused' } });
      refreshes++;
      valid = `r${refreshes + 1}`;
      return json(200, { access_token: `a${refreshes + 1}`, refresh_token: valid, token_type: 'Bearer', expires_in: 900 });
    }
    return json(404, { error: { code: 'not_found', message: 'no' } });
  });
  return { fetch, refreshes: () => refreshes };
}

describe('the browser session', () => {
  it('signs in, refreshes once however many callers ask at once, and keeps the rotated token', async () => {
    const ams = fakeAms();
    const storage = new Map<string, string>();
    const store = { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v), removeItem: (k: string) => void storage.delete(k) };
    let now = 0;
    const s = createBrowserSession({ fetch: ams.fetch as unknown as typeof fetch, storage: store, now: () => now, location: { protocol: 'https:', host: 'ams:8470' } });
    await expect(s.login('admin', 'wrong')).rejects.toBeInstanceOf(ApiError);
    await s.login('admin', 'right');
    expect(s.view()).toMatchObject({ status: 'signed-in', username: 'admin' });
    expect(await s.accessToken()).toBe('a1');
    now = 890_000; // within the renewal margin
    const tokens = await Promise.all([s.accessToken(), s.accessToken(), s.renew().then(() => s.accessToken())]);
    expect(ams.refreshes()).toBe(1);
    expect(tokens).toEqual(['a2', 'a2', 'a2']);
    expect(JSON.parse(storage.get('opmas.session')!)).toEqual({ refresh_token: 'r2', username: 'admin' });
    expect(await s.streamUrl()).toBe('wss://ams:8470/api/v1/agents/ws');

    // A new page in the same tab picks the session up from the stored refresh token.
    const again = createBrowserSession({ fetch: ams.fetch as unknown as typeof fetch, storage: store, now: () => now });
    await again.init();
    expect(again.view()).toMatchObject({ status: 'signed-in', username: 'admin' });
  });

  it('ends the session when the AMS refuses the refresh token', async () => {
    const ams = fakeAms();
    const storage = new Map<string, string>([['opmas.session', JSON.stringify({ refresh_token: 'stolen', username: 'admin' })]]);
    const store = { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v), removeItem: (k: string) => void storage.delete(k) };
    const s = createBrowserSession({ fetch: ams.fetch as unknown as typeof fetch, storage: store });
    await s.init();
    expect(s.view()).toMatchObject({ status: 'signed-out', message: 'Your session has ended; sign in again.' });
    expect(storage.has('opmas.session')).toBe(false);
  });
});

describe('HTTP', () => {
  it('renews once on a 401 and retries with the new token; errors carry the AMS code and fields', async () => {
    const seen: string[] = [];
    let token = 'old';
    const fetch = vi.fn(async (_url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).Authorization;
      seen.push(auth);
      if (auth === 'Bearer old') return new Response(JSON.stringify({ error: { code: 'invalid_token', message: 'expired' } }), { status: 401 });
      return new Response(JSON.stringify({ error: { code: 'validation_failed', message: 'Invalid request', details: [{ path: 'limit', reason: 'Too big' }] } }), { status: 400 });
    });
    const http = createHttpClient({ tokens: { accessToken: async () => token, renew: async () => ((token = 'new'), true) }, fetch: fetch as unknown as typeof globalThis.fetch });
    const err = await http.get('/agents', { query: { limit: 9999, label: ['a:b', 'c:d'], q: undefined } }).catch((e) => e);
    expect(seen).toEqual(['Bearer old', 'Bearer new']);
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/agents?limit=9999&label=a%3Ab&label=c%3Ad');
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'validation_failed', fieldIssues: [{ path: 'limit', reason: 'Too big' }], request: 'GET /api/v1/agents' });
  });
});

describe('the event intake', () => {
  it('applies a burst of events to the store in one update, then hands the batch to the views', () => {
    const a = agent({ status: 'stopped' });
    const store = createConsoleStore({ client: {} as AmsClient, session: { view: () => ({ status: 'checking', username: null, message: null, desktop: null }) } as never, storage: null });
    store.getState().upsertAgents([a]);
    const scheduled: Array<() => void> = [];
    const intake = createEventIntake({ store, schedule: (fn) => scheduled.push(fn) });
    let updates = 0;
    store.subscribe(() => updates++);
    const batches: number[] = [];
    intake.subscribe((b) => batches.push(b.length));
    for (let i = 1; i <= 50; i++) intake.push({ id: i, time: '', type: 'metrics.sample', agent_id: a.id, t: i * 1000, values: { cpu_percent: i } } as LiveEvent);
    intake.push({ id: 51, time: '', type: 'status.changed', agent_id: a.id, from: 'stopped', to: 'starting', event_type: 'start_requested', details: {} } as LiveEvent);
    expect(scheduled).toHaveLength(1);
    scheduled[0]();
    expect(store.getState().fleet.agents.get(a.id)!.status).toBe('starting');
    expect(store.getState().samples.book.recent(a.id, 'cpu_percent', 2)).toEqual([49, 50]);
    expect(updates).toBe(2); // the fleet and the samples, once each
    expect(batches).toEqual([51]);
  });
});
