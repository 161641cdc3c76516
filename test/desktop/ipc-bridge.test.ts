// The bridge end to end in Node: window.opmas (src-preload/api.ts) -> declared channels ->
// registered handlers (src-main/ipc) -> the real profile store, connection manager, notifier,
// and the real AMS (in-process for attach mode; the bundled entry as a process for host mode).
// Electron's IPC transport itself is replaced by a direct call with an event shaped like
// Electron's (sender id + sender frame), which is exactly what the sender check reads.
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConnectionManager } from '../../src-main/connection/connection-manager.js';
import { createCredentialStore } from '../../src-main/credentials/credential-store.js';
import { ConsoleError } from '../../src-main/errors.js';
import { forkWithNode } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret } from '../../src-main/host/host-launcher.js';
import { EVENT_CHANNELS, INVOKE_CHANNELS, alertClicked, connectionChanged, menuCommand } from '../../src-main/ipc/channels.js';
import { sendEvent } from '../../src-main/ipc/events.js';
import { registerConsoleIpc } from '../../src-main/ipc/index.js';
import { createIpcRegistrar } from '../../src-main/ipc/registrar.js';
import { channel } from '../../src-main/ipc/channel.js';
import { createAlertNotifier } from '../../src-main/notifications/alert-notifier.js';
import { createPreferencesStore } from '../../src-main/notifications/preferences.js';
import { createProfileStore } from '../../src-main/profiles/profile-store.js';
import { isTrustedSender } from '../../src-main/windows/security.js';
import { createOpmasApi } from '../../src-preload/api.js';
import type { AlertEvent, ConnectionInfo, FleetCounts } from '../../src-preload/console-api.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { amsEnv, removeTempDirs, SERVER_ENTRY, tempDir, TSX } from './helpers.js';
import { assertPrivateKeyring } from './keyring-env.js';
import { createUser, hashToken, liveRefreshTokens, meWith } from './support/real-ams.js';

assertPrivateKeyring();
const MAIN_WINDOW_ID = 1;
let ams: TestAms;
beforeAll(async () => {
  ams = await startTestAms();
});
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await ams?.stop();
  removeTempDirs();
});

/** ipcMain.handle as a map, and a renderer whose invoke calls it with an Electron-shaped event. */
function wire(frame: { senderId: number; url: string; top?: boolean } = { senderId: MAIN_WINDOW_ID, url: 'opmas://console/' }) {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  const registered: string[] = [];
  const ipcMain = {
    handle: (name: string, fn: (event: unknown, ...args: unknown[]) => unknown) => {
      registered.push(name);
      handlers.set(name, fn);
    },
    removeHandler: (name: string) => void handlers.delete(name),
  };
  const listeners = new Map<string, Set<(event: unknown, payload: unknown) => void>>();
  const invoked: string[] = [];
  const event = { sender: { id: frame.senderId }, senderFrame: { url: frame.url, parent: frame.top === false ? {} : null } };
  const rendererIpc = {
    invoke: async (name: string, ...args: unknown[]) => {
      invoked.push(name);
      const h = handlers.get(name);
      if (!h) throw new Error(`No handler registered for '${name}'`);
      // Electron's structured clone drops anything that is not data.
      return structuredClone(await h(event, ...structuredClone(args)));
    },
    on: (name: string, l: (event: unknown, payload: unknown) => void) => void (listeners.get(name) ?? listeners.set(name, new Set()).get(name)!).add(l),
    removeListener: (name: string, l: (event: unknown, payload: unknown) => void) => void listeners.get(name)?.delete(l),
  };
  /** The main window's webContents as sendEvent sees it. */
  const webContents = {
    isDestroyed: () => false,
    send: (name: string, payload: unknown) => {
      for (const l of listeners.get(name) ?? []) l({ sender: 'ipc-event-with-sender' }, structuredClone(payload));
    },
  };
  return { ipcMain, rendererIpc, registered, invoked, webContents, listenerCount: (name: string) => listeners.get(name)?.size ?? 0 };
}

function consoleApp(w: ReturnType<typeof wire>) {
  const userData = tempDir('opmas-ipc-');
  const secret = generateHostSecret();
  const profiles = createProfileStore({ dir: userData });
  const credentials = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });
  const host = createHostLauncher({ forkProcess: forkWithNode, serverEntry: SERVER_ENTRY, execArgv: TSX, dataDir: `${userData}/ams`, secret, env: amsEnv() });
  const connection = createConnectionManager({ profiles, credentials, host, hostSecret: secret });
  cleanups.push(() => connection.shutdown());
  const preferences = createPreferencesStore({ dir: userData });
  const shown: string[] = [];
  const clicks: Array<() => void> = [];
  const notifier = createAlertNotifier({
    Notification: class {
      constructor(private readonly o: { title: string }) {}
      on(_e: 'click', l: () => void) {
        clicks.push(l);
      }
      show() {
        shown.push(this.o.title);
      }
    },
    isSupported: () => true,
    settings: () => preferences.notifications(),
    onClick: (alert) => sendEvent(w.webContents, alertClicked, alert),
  });
  const fleet: FleetCounts[] = [];
  const unexpected: string[] = [];
  connection.onChange((info) => sendEvent(w.webContents, connectionChanged, info));
  registerConsoleIpc({
    ipcMain: w.ipcMain,
    isTrustedSender: (e) => isTrustedSender(e, MAIN_WINDOW_ID),
    onUnexpectedError: (name) => unexpected.push(name),
    appInfo: () => ({ name: 'OPMAS Console', version: '0.1.0', electron: '41.7.1', chrome: '-', node: process.versions.node, platform: process.platform, arch: process.arch }),
    connection,
    profiles,
    preferences,
    notifier,
    notificationsSupported: () => true,
    onFleetHealth: (c) => fleet.push(c),
  });
  return { opmas: createOpmasApi(w.rendererIpc), profiles, credentials, host, shown, clicks, fleet, unexpected };
}

describe('IPC contract', () => {
  it('registers every declared channel exactly once, and the preload uses only declared channels', async () => {
    const w = wire();
    const { opmas } = consoleApp(w);
    expect([...w.registered].sort()).toEqual(INVOKE_CHANNELS.map((c) => c.name).sort());
    const names = [...INVOKE_CHANNELS, ...EVENT_CHANNELS].map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => /^console:[a-z-]+$/.test(n))).toBe(true);

    // Call every verb once: together they cover every invoke channel.
    const calls: Array<() => unknown> = [
      () => opmas.app.info(),
      () => opmas.connection.info(),
      () => opmas.connection.accessToken(),
      () => opmas.connection.reportStreamDown('http://127.0.0.1:9', 3),
      () => opmas.profiles.list(),
      () => opmas.profiles.create({ name: 'x', mode: 'attach', url: 'http://127.0.0.1:9' }),
      () => opmas.profiles.update('nope', { name: 'y' }),
      () => opmas.profiles.remove('nope'),
      () => opmas.profiles.switchTo('nope'),
      () => opmas.credentials.login('u', 'p'),
      () => opmas.credentials.logout(),
      () => opmas.credentials.has('nope'),
      () => opmas.credentials.forget('nope'),
      () => opmas.notifications.settings(),
      () => opmas.notifications.update({ enabled: true }),
      () => opmas.notifications.alert({ id: 'a', severity: 'info', title: 't', message: 'm' }),
      () => opmas.fleet.reportHealth({ healthy: 1, warning: 0, critical: 0, unknown: 0 }),
    ];
    for (const call of calls) await call();
    expect([...new Set(w.invoked)].sort()).toEqual(INVOKE_CHANNELS.map((c) => c.name).sort());
    // The bridge exposes only the named groups of verbs.
    expect(Object.keys(opmas).sort()).toEqual(['app', 'connection', 'credentials', 'fleet', 'notifications', 'profiles']);
    for (const group of Object.values(opmas)) for (const verb of Object.values(group)) expect(typeof verb).toBe('function');
  });

  it('answers values, never throws: results, validation errors and domain errors', async () => {
    const w = wire();
    const { opmas } = consoleApp(w);
    const info = await opmas.app.info();
    expect(info).toMatchObject({ ok: true, value: { name: 'OPMAS Console', version: '0.1.0' } });

    const created = await opmas.profiles.create({ name: 'Lab', mode: 'attach', url: 'http://10.0.0.5:8470/' });
    expect(created).toEqual({ ok: true, value: { id: expect.any(String), name: 'Lab', mode: 'attach', url: 'http://10.0.0.5:8470' } });
    expect(await opmas.profiles.list()).toMatchObject({ ok: true, value: { profiles: [{ name: 'Lab' }], lastUsedId: null } });

    const extraKey = await opmas.profiles.create({ name: 'X', mode: 'attach', url: 'http://a.example', token: 'smuggled' } as never);
    expect(extraKey).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('token') } });
    const wrongType = await opmas.fleet.reportHealth({ healthy: -1, warning: 0, critical: 0, unknown: 0 });
    expect(wrongType).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('healthy') } });
    const noArgs = await w.rendererIpc.invoke('console:connection-info', 'surprise');
    expect(noArgs).toMatchObject({ ok: false, error: { code: 'invalid_input' } });

    expect(await opmas.profiles.create({ name: 'Disk', mode: 'attach', url: 'file:///etc/passwd' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await opmas.profiles.switchTo('missing')).toEqual({ ok: false, error: { code: 'profile_not_found', message: 'No profile with id missing' } });
    expect(await opmas.credentials.login('ops', 'pw')).toMatchObject({ ok: false, error: { code: 'no_active_profile' } });
  });

  it('masks unexpected failures and reports them to the main process only', async () => {
    const w = wire();
    const unexpected: Array<[string, unknown]> = [];
    const registrar = createIpcRegistrar({ ipcMain: w.ipcMain, isTrustedSender: () => true, onUnexpectedError: (n, e) => unexpected.push([n, e]) });
    const boom = channel<void, string>('console:test-boom');
    const domain = channel<void, string>('console:test-domain');
    registrar.handle(boom, null, () => {
      throw new Error('ENOENT /home/user/secret/path');
    });
    registrar.handle(domain, null, () => {
      throw new ConsoleError('keychain_unavailable', 'The OS keychain cannot be used: locked');
    });
    expect(await w.rendererIpc.invoke(boom.name)).toEqual({ ok: false, error: { code: 'internal', message: 'The console failed to do that; see the app log' } });
    expect(unexpected.map(([n, e]) => [n, (e as Error).message])).toEqual([['console:test-boom', 'ENOENT /home/user/secret/path']]);
    expect(await w.rendererIpc.invoke(domain.name)).toEqual({ ok: false, error: { code: 'keychain_unavailable', message: 'The OS keychain cannot be used: locked' } });
  });

  it('refuses every channel to senders other than the main window top frame on the console', async () => {
    for (const frame of [
      { senderId: 2, url: 'opmas://console/' },
      { senderId: MAIN_WINDOW_ID, url: 'https://ams.example.com/' },
      { senderId: MAIN_WINDOW_ID, url: 'opmas://console/', top: false },
    ]) {
      const w = wire(frame);
      const { opmas, profiles } = consoleApp(w);
      expect(await opmas.profiles.create({ name: 'Sneaky', mode: 'host' })).toEqual({ ok: false, error: { code: 'untrusted_sender', message: 'This page may not use the console bridge' } });
      expect(await opmas.connection.accessToken()).toMatchObject({ ok: false, error: { code: 'untrusted_sender' } });
      expect(profiles.list().profiles).toEqual([]);
    }
  });
});

describe('bridge flows', () => {
  it('switches to an attach profile, logs in, hands out access tokens and pushes connection changes', async () => {
    const ops = await createUser(ams);
    const w = wire();
    const { opmas, credentials } = consoleApp(w);
    const seen: ConnectionInfo[] = [];
    const off = opmas.connection.onChange((info) => seen.push(info));

    const profile = await opmas.profiles.create({ name: 'Prod', mode: 'attach', url: ams.url });
    if (!profile.ok) throw new Error(profile.error.message);
    cleanups.push(() => credentials.delete(profile.value.id));
    const switched = await opmas.profiles.switchTo(profile.value.id);
    expect(switched).toMatchObject({ ok: true, value: { profile: { id: profile.value.id }, amsUrl: ams.url, session: { status: 'signed-out' } } });
    expect(await opmas.credentials.login(ops.username, 'wrong password')).toMatchObject({ ok: false, error: { code: 'invalid_credentials' } });
    expect(await opmas.credentials.login(ops.username, ops.password)).toMatchObject({ ok: true, value: { status: 'signed-in', username: ops.username } });
    expect(await opmas.credentials.has(profile.value.id)).toEqual({ ok: true, value: true });

    const token = await opmas.connection.accessToken();
    if (!token.ok || !token.value) throw new Error('no token');
    expect(await meWith(ams.url, token.value)).toMatchObject({ status: 200, body: { username: ops.username, role: 'operator' } });
    // The refresh token never crosses the bridge; it is the one the AMS holds live for this login.
    const stored = await credentials.get(profile.value.id);
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(stored!)]);
    expect(JSON.stringify(seen)).not.toContain(stored!);
    expect(JSON.stringify(await opmas.connection.info())).not.toContain(stored!);

    // Listeners get the payload only, not Electron's event.
    expect(seen.at(-1)).toMatchObject({ profile: { id: profile.value.id }, session: { status: 'signed-in' } });
    expect(seen.some((i) => JSON.stringify(i).includes('ipc-event-with-sender'))).toBe(false);
    expect(w.listenerCount(connectionChanged.name)).toBe(1);
    off();
    expect(w.listenerCount(connectionChanged.name)).toBe(0);

    expect(await opmas.credentials.logout()).toMatchObject({ ok: true, value: { status: 'signed-out' } });
    expect(await opmas.connection.accessToken()).toEqual({ ok: true, value: null });
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([]);
    expect((await meWith(ams.url, token.value)).status).toBe(401);
  });

  it('an attach profile of several URLs: created with urls; a live stream that does not come back moves it off the URL in use only when that does not answer over HTTP either', async () => {
    const ops = await createUser(ams);
    const w = wire();
    const { opmas, credentials } = consoleApp(w);
    const seen: ConnectionInfo[] = [];
    opmas.connection.onChange((info) => seen.push(info));
    // The first URL is the AMS through a proxy the test can cut; the second, the AMS itself.
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(ams.url).port));
    cleanups.push(() => proxy.close());
    const first = `http://127.0.0.1:${proxy.port}`;
    const profile = await opmas.profiles.create({ name: 'Cluster', mode: 'attach', urls: [`${first}/`, ams.url] });
    expect(profile).toEqual({ ok: true, value: { id: expect.any(String), name: 'Cluster', mode: 'attach', url: first, urls: [first, ams.url] } });
    if (!profile.ok) return;
    cleanups.push(() => credentials.delete(profile.value.id));
    expect(await opmas.profiles.create({ name: 'Twice', mode: 'attach', urls: [ams.url, `${ams.url}/`] })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: `The AMS URL ${ams.url} is listed twice` } });
    expect(await opmas.profiles.create({ name: 'Both', mode: 'attach', url: ams.url, urls: [first] })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await opmas.profiles.switchTo(profile.value.id)).toMatchObject({ ok: true, value: { amsUrl: first, attach: { urls: [first, ams.url], current: 0, failover: null } } });
    expect(await opmas.credentials.login(ops.username, ops.password)).toMatchObject({ ok: true, value: { status: 'signed-in' } });

    // About a URL that is not the one in use, or with a count that is no count: nothing moves.
    expect(await opmas.connection.reportStreamDown(ams.url, 3)).toEqual({ ok: true, value: false });
    expect(await opmas.connection.reportStreamDown(first, 0)).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('attempts') } });
    // The URL in use still answers over HTTP (a refused handshake looks the same to a browser): it stays.
    expect(await opmas.connection.reportStreamDown(first, 3)).toEqual({ ok: true, value: false });
    expect(await opmas.connection.info()).toMatchObject({ ok: true, value: { amsUrl: first, attach: { current: 0, failover: null } } });
    // It stops answering: the console moves, and says why.
    await proxy.cut();
    expect(await opmas.connection.reportStreamDown(first, 3)).toEqual({ ok: true, value: true });
    const info = await opmas.connection.info();
    expect(info).toMatchObject({
      ok: true,
      value: {
        amsUrl: ams.url,
        attach: { current: 1, failover: { from: first, to: ams.url, reason: 'its live stream dropped and did not come back after 3 attempts, and it did not answer (ECONNREFUSED)' } },
        session: { status: 'signed-in' },
      },
    });
    // The renderer was told, and the session (tokens valid on any replica) carried on.
    expect(seen.at(-1)).toMatchObject({ amsUrl: ams.url, attach: { current: 1 }, session: { status: 'signed-in' } });
    const token = await opmas.connection.accessToken();
    expect(token.ok && (await meWith(ams.url, token.value)).status).toBe(200);
  });

  it('host mode: switching to the host profile starts the bundled AMS, signs in with the secret and hands the renderer a working admin token', async () => {
    const w = wire();
    const { opmas, host } = consoleApp(w);
    const seen: ConnectionInfo[] = [];
    opmas.connection.onChange((info) => seen.push(info));
    const signedIn = new Promise<ConnectionInfo>((resolve) =>
      opmas.connection.onChange((info) => {
        if (info.host?.status === 'running' && info.session.status === 'signed-in') resolve(info);
      }),
    );

    const profile = await opmas.profiles.create({ name: 'This machine', mode: 'host' });
    if (!profile.ok) throw new Error(profile.error.message);
    expect(await opmas.profiles.switchTo(profile.value.id)).toMatchObject({ ok: true, value: { profile: { mode: 'host' }, host: { status: 'starting' } } });
    const info = await signedIn;
    expect(info.amsUrl).toBe(host.state().url);
    expect(seen.map((i) => i.host?.status)).toContain('starting');
    expect(await opmas.connection.info()).toMatchObject({ ok: true, value: { amsUrl: info.amsUrl, session: { status: 'signed-in', error: null } } });

    // The renderer's view of things: the URL and a token from the bridge, then plain API calls.
    const token = await opmas.connection.accessToken();
    if (!token.ok || !token.value) throw new Error(`no token: ${JSON.stringify(token)}`);
    expect(await meWith(info.amsUrl!, token.value)).toMatchObject({ status: 200, body: { username: 'local-admin', role: 'admin' } });
    const users = await fetch(`${info.amsUrl}/api/v1/users`, { headers: { authorization: `Bearer ${token.value}` } });
    expect(users.status).toBe(200);
    expect(((await users.json()) as { items: Array<{ username: string }> }).items.map((u) => u.username)).toContain('local-admin');
    expect(await opmas.credentials.login('admin', 'whatever')).toMatchObject({ ok: false, error: { code: 'not_attach_mode' } });
    // Nothing but access tokens crosses the bridge: no refresh token appears in what the renderer saw.
    expect(JSON.stringify(seen)).not.toMatch(/ort_/);
  });

  it('shows alert notifications through the notifier, reports clicks, and takes fleet health', async () => {
    const w = wire();
    const { opmas, shown, clicks, fleet } = consoleApp(w);
    const clicked: AlertEvent[] = [];
    opmas.notifications.onClick((a) => clicked.push(a));
    expect(await opmas.notifications.settings()).toEqual({ ok: true, value: { supported: true, enabled: true, minSeverity: 'warning' } });

    const alert = { id: 'al-1', severity: 'critical' as const, title: 'Agent down', agent_id: 'security-1', message: 'No heartbeat for 90 s', created_at: 'extra field' };
    expect(await opmas.notifications.alert(alert)).toEqual({ ok: true, value: true });
    expect(await opmas.notifications.alert(alert)).toEqual({ ok: true, value: false });
    expect(shown).toEqual(['Critical: Agent down']);
    clicks[0]();
    expect(clicked).toEqual([{ id: 'al-1', severity: 'critical', title: 'Agent down', agent_id: 'security-1', message: 'No heartbeat for 90 s' }]);

    expect(await opmas.notifications.update({ minSeverity: 'critical' })).toEqual({ ok: true, value: { supported: true, enabled: true, minSeverity: 'critical' } });
    expect(await opmas.notifications.alert({ id: 'al-2', severity: 'warning', title: 'Slow', message: 'CPU 85%' })).toEqual({ ok: true, value: false });

    expect(await opmas.fleet.reportHealth({ healthy: 3, warning: 1, critical: 0, unknown: 0 })).toEqual({ ok: true, value: undefined });
    expect(fleet).toEqual([{ healthy: 3, warning: 1, critical: 0, unknown: 0 }]);

    const commands: string[] = [];
    const off = opmas.app.onMenuCommand((c) => commands.push(c));
    sendEvent(w.webContents, menuCommand, 'manage-profiles');
    off();
    sendEvent(w.webContents, menuCommand, 'manage-profiles');
    expect(commands).toEqual(['manage-profiles']);
  });
});
