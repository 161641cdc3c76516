// An attach profile with several AMS URLs against the real AMS (in-process, PGlite) behind a real
// HAProxy, the AMS's own address, and a URL where nothing listens: signing in, the API proxy and a
// later launch's refresh fail over to the next URL that answers, with the same tokens (the API is
// stateless), and the connection info says which URL is in use and when and why it moved. A write
// is sent again only when it surely never arrived, and it is carried out once.
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConnectionManager } from '../../src-main/connection/connection-manager.js';
import { createCredentialStore } from '../../src-main/credentials/credential-store.js';
import { forkWithNode } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret } from '../../src-main/host/host-launcher.js';
import { createProfileStore } from '../../src-main/profiles/profile-store.js';
import { createAuthClient } from '../../src-main/session/auth-client.js';
import { createConsoleProtocolHandler } from '../../src-main/windows/console-protocol.js';
import type { ConnectionInfo } from '../../src-preload/console-api.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { amsEnv, removeTempDirs, SERVER_ENTRY, tempDir, TSX } from './helpers.js';
import { assertPrivateKeyring } from './keyring-env.js';
import { freePort, startLoadBalancer, type LoadBalancer } from './support/haproxy.js';
import { createUser, hashToken, liveRefreshTokens, meWith, recordingFetch } from './support/real-ams.js';

assertPrivateKeyring();
const credentials = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });

let ams: TestAms;
/** AMS ← TCP proxy ← HAProxy: cutting the proxy leaves the load balancer with no AMS behind it. */
let behindLb: TcpProxy;
let lb: LoadBalancer;
/** Nothing listens there. */
let dead: string;
let rendererDir: string;

beforeAll(async () => {
  ams = await startTestAms();
  behindLb = await startTcpProxy('127.0.0.1', Number(new URL(ams.url).port));
  lb = await startLoadBalancer(tempDir('opmas-haproxy-'), behindLb.port);
  dead = `http://127.0.0.1:${await freePort()}`;
  rendererDir = tempDir('opmas-renderer-');
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await behindLb.restore().catch(() => undefined);
});
afterAll(async () => {
  await lb?.stop();
  await behindLb?.close();
  await ams?.stop();
  removeTempDirs();
});

function app(userData = tempDir('opmas-userdata-')) {
  const secret = generateHostSecret();
  const host = createHostLauncher({ forkProcess: forkWithNode, serverEntry: SERVER_ENTRY, execArgv: TSX, dataDir: `${userData}/ams`, secret, env: amsEnv() });
  const profiles = createProfileStore({ dir: userData });
  const rec = recordingFetch();
  const manager = createConnectionManager({ profiles, credentials, host, hostSecret: secret, authClient: (baseUrl) => createAuthClient({ baseUrl, fetch: rec.fetch }) });
  const changes: ConnectionInfo[] = [];
  manager.onChange((i) => changes.push(i));
  cleanups.push(() => manager.shutdown());
  // The window's opmas://console/ handler as index.ts wires it to the connection.
  const console = createConsoleProtocolHandler({
    rendererDir,
    amsUrl: () => manager.info().amsUrl,
    amsUrls: () => manager.info().attach?.urls ?? [],
    reportUnreachable: (url, reason) => void manager.reportUnreachable(url, reason),
    hostMode: () => false,
    fetch,
  });
  const api = (path: string, token: string | null, init: RequestInit = {}) =>
    console(new Request(`opmas://console${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } }));
  return { manager, profiles, changes, calls: rec.calls, api, console, userData };
}

describe('attach profile with several AMS URLs', () => {
  it('signs in through the next URL when the first does not answer, and says which one it is on, since when and why', async () => {
    const ops = await createUser(ams);
    const { manager, profiles, changes, calls } = app();
    const prod = profiles.create({ name: 'Cluster', mode: 'attach', urls: [dead, lb.url, ams.url] });
    cleanups.push(() => credentials.delete(prod.id));
    expect(prod).toMatchObject({ url: dead, urls: [dead, lb.url, ams.url] });

    const opened = await manager.activate(prod.id);
    expect(opened).toMatchObject({ amsUrl: dead, attach: { urls: [dead, lb.url, ams.url], current: 0, failover: null }, session: { status: 'signed-out' } });
    const before = Date.now();
    expect(await manager.login(ops.username, ops.password)).toMatchObject({ status: 'signed-in', username: ops.username });
    // The login was refused a connection at the first URL (so it never arrived), then sent to the load balancer.
    expect(calls.map((c) => [c.origin, c.path, c.status])).toEqual([
      [dead, '/api/v1/auth/login', 0],
      [lb.url, '/api/v1/auth/login', 200],
    ]);
    const info = manager.info();
    expect(info).toMatchObject({ amsUrl: lb.url, attach: { current: 1, failover: { from: dead, to: lb.url, reason: 'did not answer (ECONNREFUSED)' } } });
    expect(info.attach!.failover!.at).toBeGreaterThanOrEqual(before);
    expect(info.attach!.failover!.at).toBeLessThanOrEqual(Date.now());
    // Listeners (the renderer) were told of the move.
    expect(changes.some((c) => c.attach?.current === 1 && c.amsUrl === lb.url)).toBe(true);
    expect((await meWith(lb.url, await manager.accessToken())).status).toBe(200);
  });

  it('the API proxy moves to the next URL when the load balancer in use has no AMS behind it, with the same token; a write that never arrived is sent again and done once', async () => {
    const admin = await createUser(ams, 'admin', 'adm');
    const { manager, profiles, api, console: handler } = app();
    const prod = profiles.create({ name: 'Cluster', mode: 'attach', urls: [lb.url, ams.url, dead] });
    cleanups.push(() => credentials.delete(prod.id));
    await manager.activate(prod.id);
    await manager.login(admin.username, admin.password);
    const token = await manager.accessToken();
    expect(manager.info()).toMatchObject({ amsUrl: lb.url, attach: { current: 0, failover: null } });

    // The page may reach every URL of the profile (its stream follows a failover).
    const csp = (await handler(new Request('opmas://console/'))).headers.get('content-security-policy')!;
    const port = (u: string) => new URL(u).port;
    expect(csp).toContain(`connect-src 'self' ${lb.url} ws://127.0.0.1:${port(lb.url)} ${ams.url} ws://127.0.0.1:${port(ams.url)} ${dead} ws://127.0.0.1:${port(dead)};`);

    expect(await (await api('/api/v1/auth/me', token)).json()).toMatchObject({ username: admin.username });
    // The AMS behind the load balancer is gone: HAProxy answers 503 itself.
    await behindLb.cut();
    const lbAnswer = await fetch(`${lb.url}/api/v1/health`);
    expect(lbAnswer.status).toBe(503);
    expect(lbAnswer.headers.get('content-type')).toContain('text/html');
    await lbAnswer.body?.cancel();

    const agents = await api('/api/v1/agents', token);
    expect(agents.status).toBe(200);
    expect(await agents.json()).toMatchObject({ items: expect.any(Array) });
    expect(manager.info()).toMatchObject({ amsUrl: ams.url, attach: { current: 1, failover: { from: lb.url, to: ams.url, reason: 'answered 503 from a proxy in front of it' } } });
    // Same session: the token the console holds is accepted at the other URL; nothing was refreshed.
    expect(await manager.accessToken()).toBe(token);

    // Moved on from the AMS too (as if it had not answered): the next is the dead URL, then round to the load balancer
    // (still 503), then the AMS. A write refused a connection, or turned away by the load balancer, never arrived: it is sent on.
    expect(manager.reportUnreachable(ams.url, 'did not answer in time')).toBe(true);
    expect(manager.info().amsUrl).toBe(dead);
    const username = `made-through-failover-${Date.now()}`;
    const created = await api('/api/v1/users', token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'a-long-enough-password', role: 'read-only' }),
    });
    expect(created.status).toBe(201);
    expect(manager.info()).toMatchObject({ amsUrl: ams.url, attach: { current: 1, failover: { from: lb.url, to: ams.url, reason: 'answered 503 from a proxy in front of it' } } });
    const users = (await ams.api.get('/api/v1/users?limit=500')).body.items as Array<{ username: string }>;
    expect(users.filter((u) => u.username === username)).toHaveLength(1);

    // A report about a URL already left changes nothing; with every URL down the proxy says so and stays put.
    expect(manager.reportUnreachable(lb.url, 'did not answer (ECONNREFUSED)')).toBe(false);
    expect(manager.info().amsUrl).toBe(ams.url);
  });

  it('a later launch signs in from the keychain through the next URL: the refresh goes on only because it never arrived', async () => {
    const ops = await createUser(ams);
    const userData = tempDir('opmas-userdata-');
    const first = app(userData);
    const prod = first.profiles.create({ name: 'Cluster', mode: 'attach', urls: [ams.url, lb.url] });
    cleanups.push(() => credentials.delete(prod.id));
    await first.manager.activate(prod.id);
    await first.manager.login(ops.username, ops.password);
    const stored = (await credentials.get(prod.id))!;
    await first.manager.shutdown();

    // The profile now lists a dead URL and the load balancer (with no AMS behind it) first.
    first.profiles.update(prod.id, { urls: [dead, lb.url, ams.url] });
    await behindLb.cut();
    const later = app(userData);
    expect(await later.manager.openStartup()).toMatchObject({ kind: 'open', profile: { id: prod.id } });
    expect(later.manager.info()).toMatchObject({ amsUrl: ams.url, attach: { current: 2, failover: { from: lb.url, to: ams.url } }, session: { status: 'signed-in' } });
    expect(later.calls.map((c) => [c.origin, c.path, c.refreshToken, c.status])).toEqual([
      [dead, '/api/v1/auth/refresh', stored, 0],
      [lb.url, '/api/v1/auth/refresh', stored, 503],
      [ams.url, '/api/v1/auth/refresh', stored, 200],
    ]);
    // Rotated once: the one token the AMS accepts is the new one in the keychain.
    const rotated = (await credentials.get(prod.id))!;
    expect(rotated).not.toBe(stored);
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(rotated)]);
  });

  it('says which URLs it tried when none answers, and keeps an old single-URL profile as it was', async () => {
    const ops = await createUser(ams);
    const { manager, profiles } = app();
    const other = `http://127.0.0.1:${await freePort()}`;
    const down = profiles.create({ name: 'Down', mode: 'attach', urls: [dead, other] });
    cleanups.push(() => credentials.delete(down.id));
    await manager.activate(down.id);
    await expect(manager.login(ops.username, ops.password)).rejects.toMatchObject({
      code: 'ams_unreachable',
      message: `No AMS URL of this profile answered: ${dead} did not answer (ECONNREFUSED); ${other} did not answer (ECONNREFUSED)`,
    });
    expect(manager.info()).toMatchObject({ amsUrl: dead, session: { status: 'signed-out', error: { code: 'ams_unreachable' } } });

    const single = profiles.create({ name: 'One', mode: 'attach', url: ams.url });
    cleanups.push(() => credentials.delete(single.id));
    expect(single).toEqual({ id: single.id, name: 'One', mode: 'attach', url: ams.url });
    await manager.activate(single.id);
    expect(manager.info()).toMatchObject({ amsUrl: ams.url, attach: { urls: [ams.url], current: 0, failover: null } });
    await manager.login(ops.username, ops.password);
    expect(manager.reportUnreachable(ams.url, 'did not answer (ECONNREFUSED)')).toBe(false);
    expect(manager.info().attach).toEqual({ urls: [ams.url], current: 0, failover: null });
  });
});
