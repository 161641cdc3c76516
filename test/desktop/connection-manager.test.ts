// Profiles, mode switching and sessions together against the real AMS: attach profiles with
// the real keychain (the AMS in-process, a second URL through a TCP proxy), and the host
// profile running the real bundled AMS entry with its per-launch secret.
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConnectionManager, type ConnectionManager } from '../../src-main/connection/connection-manager.js';
import { createCredentialStore } from '../../src-main/credentials/credential-store.js';
import { forkWithNode } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret } from '../../src-main/host/host-launcher.js';
import { createProfileStore } from '../../src-main/profiles/profile-store.js';
import { createAuthClient } from '../../src-main/session/auth-client.js';
import type { ConnectionInfo } from '../../src-preload/console-api.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { amsEnv, isAlive, removeTempDirs, SERVER_ENTRY, tempDir, TSX } from './helpers.js';
import { assertPrivateKeyring } from './keyring-env.js';
import { createUser, hashToken, liveRefreshTokens, meWith, recordingFetch } from './support/real-ams.js';

assertPrivateKeyring();
const credentials = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });

let ams: TestAms;
beforeAll(async () => {
  ams = await startTestAms();
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await ams?.stop();
  removeTempDirs();
});

function app(userData: string) {
  const secret = generateHostSecret();
  const host = createHostLauncher({ forkProcess: forkWithNode, serverEntry: SERVER_ENTRY, execArgv: TSX, dataDir: `${userData}/ams`, secret, env: amsEnv() });
  const profiles = createProfileStore({ dir: userData });
  const rec = recordingFetch();
  const manager = createConnectionManager({ profiles, credentials, host, hostSecret: secret, authClient: (baseUrl) => createAuthClient({ baseUrl, fetch: rec.fetch }) });
  const changes: ConnectionInfo[] = [];
  manager.onChange((i) => changes.push(i));
  cleanups.push(() => manager.shutdown());
  return { manager, profiles, host, changes, calls: rec.calls };
}

function waitFor(manager: ConnectionManager, pred: (i: ConnectionInfo) => boolean): Promise<ConnectionInfo> {
  return new Promise((resolve) => {
    if (pred(manager.info())) return resolve(manager.info());
    const off = manager.onChange((i) => {
      if (pred(i)) {
        off();
        resolve(i);
      }
    });
  });
}

describe('connection manager, attach mode', () => {
  it('goes from first run to a signed-in profile that a later launch resumes from the keychain', async () => {
    const ops = await createUser(ams);
    const userData = tempDir('opmas-userdata-');
    const first = app(userData);
    expect(await first.manager.openStartup()).toEqual({ kind: 'first-run' });
    expect(first.manager.info()).toEqual({ profile: null, amsUrl: null, host: null, attach: null, session: { status: 'signed-out', username: null, expiresAt: null, error: null } });
    await expect(first.manager.login('ops', 'x')).rejects.toMatchObject({ code: 'no_active_profile' });

    const prod = first.profiles.create({ name: 'Production', mode: 'attach', url: `${ams.url}/` });
    cleanups.push(() => credentials.delete(prod.id));
    const opened = await first.manager.activate(prod.id);
    expect(opened).toMatchObject({ profile: { id: prod.id }, amsUrl: ams.url, host: null, session: { status: 'signed-out' } });
    expect(await first.manager.accessToken()).toBeNull();

    await expect(first.manager.login(ops.username, 'not the password')).rejects.toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(first.manager.info().session).toMatchObject({ status: 'signed-out', error: { code: 'invalid_credentials' } });
    expect(await first.manager.login(ops.username, ops.password)).toMatchObject({ status: 'signed-in', username: ops.username });
    expect(first.changes.at(-1)!.session.status).toBe('signed-in');
    expect(await first.manager.hasCredential(prod.id)).toBe(true);
    expect(first.profiles.get(prod.id).username).toBe(ops.username);
    const stored = (await credentials.get(prod.id))!;
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(stored)]);
    await first.manager.shutdown();

    // A later launch opens the same profile and signs in from the keychain without asking.
    const later = app(userData);
    const choice = await later.manager.openStartup();
    expect(choice).toMatchObject({ kind: 'open', profile: { id: prod.id } });
    expect(later.manager.info().session).toMatchObject({ status: 'signed-in', username: ops.username });
    expect(later.calls.map((c) => [c.path, c.refreshToken, c.status])).toEqual([['/api/v1/auth/refresh', stored, 200]]);
    const token = await later.manager.accessToken();
    expect(await meWith(ams.url, token)).toMatchObject({ status: 200, body: { username: ops.username, role: 'operator' } });
  });

  it('switches between attach profiles, forgets credentials and removes the active profile', async () => {
    // Two AMS URLs: the AMS itself, and the same AMS through a proxy.
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(ams.url).port));
    cleanups.push(() => proxy.close());
    const [urlA, urlB] = [ams.url, `http://127.0.0.1:${proxy.port}`];
    const ops = await createUser(ams);
    const { manager, profiles, calls } = app(tempDir('opmas-userdata-'));
    const pa = profiles.create({ name: 'A', mode: 'attach', url: urlA });
    const pb = profiles.create({ name: 'B', mode: 'attach', url: urlB });
    cleanups.push(() => credentials.delete(pa.id), () => credentials.delete(pb.id));

    await manager.activate(pa.id);
    await manager.login(ops.username, ops.password);
    const tokenA = await manager.accessToken();
    const refreshA = (await credentials.get(pa.id))!;
    await manager.activate(pb.id);
    expect(manager.info()).toMatchObject({ profile: { id: pb.id }, amsUrl: urlB, session: { status: 'signed-out' } });
    await manager.login(ops.username, ops.password);
    const tokenB = await manager.accessToken();
    const refreshB = (await credentials.get(pb.id))!;
    expect(tokenB).not.toBe(tokenA);
    expect(refreshB).not.toBe(refreshA);
    expect(profiles.list().lastUsedId).toBe(pb.id);
    expect((await liveRefreshTokens(ams, ops.id)).sort()).toEqual([hashToken(refreshA), hashToken(refreshB)].sort());

    // Forgetting A's credential (not active) deletes it from the keychain only: the AMS still accepts it.
    expect(await manager.forgetCredential(pa.id)).toBe(true);
    expect(await credentials.get(pa.id)).toBeNull();
    expect(await liveRefreshTokens(ams, ops.id)).toContain(hashToken(refreshA));
    // Forgetting B's (active) also logs out at B: B's session is revoked there, A's untouched.
    expect(await manager.forgetCredential(pb.id)).toBe(true);
    expect(calls.at(-1)).toMatchObject({ path: '/api/v1/auth/logout', refreshToken: refreshB, status: 204 });
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(refreshA)]);
    expect((await meWith(urlB, tokenB)).status).toBe(401);
    expect((await meWith(urlA, tokenA)).status).toBe(200);
    expect(manager.info().session.status).toBe('signed-out');

    await manager.login(ops.username, ops.password);
    const remaining = await manager.removeProfile(pb.id);
    expect(remaining).toEqual({ profiles: [{ ...pa, username: ops.username }], lastUsedId: null });
    expect(manager.info().profile).toBeNull();
    expect(await credentials.get(pb.id)).toBeNull();
  });
});

describe('connection manager, host mode', () => {
  it('starts the bundled AMS for the host profile and signs in with the secret; stops it when switching away and starts it again', async () => {
    const ops = await createUser(ams);
    const userData = tempDir('opmas-userdata-');
    const { manager, profiles, host, calls } = app(userData);
    const here = profiles.create({ name: 'This machine', mode: 'host' });
    const remote = profiles.create({ name: 'Remote', mode: 'attach', url: ams.url });
    cleanups.push(() => credentials.delete(remote.id));

    const opened = await manager.activate(here.id);
    expect(opened.profile?.mode).toBe('host');
    expect(opened.host?.status).toBe('starting');
    const running = await waitFor(manager, (i) => i.host?.status === 'running' && i.session.status === 'signed-in');
    expect(running.amsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(running.amsUrl).toBe(host.state().url);
    expect(calls.map((c) => [c.path, c.status])).toEqual([['/api/v1/auth/host-session', 200]]);
    const token = await manager.accessToken();
    expect(await meWith(running.amsUrl!, token)).toMatchObject({ status: 200, body: { username: 'local-admin', role: 'admin' } });
    const pid = running.host!.pid!;

    await manager.activate(remote.id);
    expect(host.state().status).toBe('stopped');
    expect(isAlive(pid)).toBe(false);
    expect(manager.info()).toMatchObject({ profile: { id: remote.id }, host: null, amsUrl: ams.url });
    await manager.login(ops.username, ops.password);

    await manager.activate(here.id);
    const again = await waitFor(manager, (i) => i.host?.status === 'running' && i.session.status === 'signed-in');
    expect(again.host!.pid).not.toBe(pid);
    expect((await meWith(again.amsUrl!, await manager.accessToken())).status).toBe(200);
    await expect(manager.login(ops.username, ops.password)).rejects.toMatchObject({ code: 'not_attach_mode' });

    await manager.shutdown();
    expect(host.state().status).toBe('stopped');
    expect(isAlive(again.host!.pid!)).toBe(false);
  });

  it('keeps the host session through a crash and restart, and signs in again when the running host profile is edited', async () => {
    const { manager, profiles, host, calls } = app(tempDir('opmas-userdata-'));
    const here = profiles.create({ name: 'This machine', mode: 'host' });
    await manager.activate(here.id);
    const running = await waitFor(manager, (i) => i.host?.status === 'running' && i.session.status === 'signed-in');
    const token = await manager.accessToken();

    // The AMS dies; the launcher restarts it on the same port and data dir, where the token still holds.
    process.kill(running.host!.pid!, 'SIGKILL');
    await waitFor(manager, (i) => i.host?.status === 'restarting');
    const restarted = await waitFor(manager, (i) => i.host?.status === 'running');
    expect(restarted.amsUrl).toBe(running.amsUrl);
    expect(restarted.host!.pid).not.toBe(running.host!.pid);
    expect(restarted.session.status).toBe('signed-in');
    expect(await manager.accessToken()).toBe(token);
    expect((await meWith(restarted.amsUrl!, token)).status).toBe(200);

    // Renaming the active host profile re-enters it while the AMS keeps running: a new session signs in.
    profiles.update(here.id, { name: 'This computer' });
    const hostSessions = calls.filter((c) => c.path === '/api/v1/auth/host-session').length;
    await manager.activate(here.id);
    const renamed = await waitFor(manager, (i) => i.profile?.name === 'This computer' && i.session.status === 'signed-in');
    expect(renamed.host!.pid).toBe(restarted.host!.pid);
    expect(calls.filter((c) => c.path === '/api/v1/auth/host-session')).toHaveLength(hostSessions + 1);
    expect((await meWith(renamed.amsUrl!, await manager.accessToken())).status).toBe(200);
    expect(host.state().status).toBe('running');
  });
});
