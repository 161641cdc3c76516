// Profiles, mode switching and sessions together: attach profiles against the AUTH CONTRACT
// STUB with the real keychain, and the host profile running the real bundled AMS entry.
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createConnectionManager, type ConnectionManager } from '../../src-main/connection/connection-manager.js';
import { createCredentialStore } from '../../src-main/credentials/credential-store.js';
import { forkWithNode } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret } from '../../src-main/host/host-launcher.js';
import { createProfileStore } from '../../src-main/profiles/profile-store.js';
import type { ConnectionInfo } from '../../src-preload/console-api.js';
import { amsEnv, isAlive, removeTempDirs, SERVER_ENTRY, tempDir, TSX } from './helpers.js';
import { assertPrivateKeyring } from './keyring-env.js';
import { startAuthContractStub, type AuthContractStub } from './support/auth-contract-stub.js';

assertPrivateKeyring();
const credentials = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(removeTempDirs);

function app(userData: string) {
  const secret = generateHostSecret();
  const host = createHostLauncher({ forkProcess: forkWithNode, serverEntry: SERVER_ENTRY, execArgv: TSX, dataDir: `${userData}/ams`, secret, env: amsEnv() });
  const profiles = createProfileStore({ dir: userData });
  const manager = createConnectionManager({ profiles, credentials, host, hostSecret: secret });
  const changes: ConnectionInfo[] = [];
  manager.onChange((i) => changes.push(i));
  cleanups.push(() => manager.shutdown());
  return { manager, profiles, host, changes };
}

async function stub(): Promise<AuthContractStub> {
  const s = await startAuthContractStub();
  cleanups.push(() => s.close());
  return s;
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
    const ams = await stub();
    const userData = tempDir('opmas-userdata-');
    const first = app(userData);
    expect(await first.manager.openStartup()).toEqual({ kind: 'first-run' });
    expect(first.manager.info()).toEqual({ profile: null, amsUrl: null, host: null, session: { status: 'signed-out', username: null, expiresAt: null, error: null } });
    await expect(first.manager.login('ops', 'x')).rejects.toMatchObject({ code: 'no_active_profile' });

    const prod = first.profiles.create({ name: 'Production', mode: 'attach', url: `${ams.url}/` });
    cleanups.push(() => credentials.delete(prod.id));
    const opened = await first.manager.activate(prod.id);
    expect(opened).toMatchObject({ profile: { id: prod.id }, amsUrl: ams.url, host: null, session: { status: 'signed-out' } });
    expect(await first.manager.accessToken()).toBeNull();

    expect(await first.manager.login('ops', 'correct horse')).toMatchObject({ status: 'signed-in', username: 'ops' });
    expect(first.changes.at(-1)!.session.status).toBe('signed-in');
    expect(await first.manager.hasCredential(prod.id)).toBe(true);
    expect(first.profiles.get(prod.id).username).toBe('ops');
    await first.manager.shutdown();

    // A later launch opens the same profile and signs in from the keychain without asking.
    const later = app(userData);
    const choice = await later.manager.openStartup();
    expect(choice).toMatchObject({ kind: 'open', profile: { id: prod.id } });
    expect(later.manager.info().session).toMatchObject({ status: 'signed-in', username: 'ops' });
    const token = await later.manager.accessToken();
    expect((await fetch(`${ams.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('switches between attach profiles, forgets credentials and removes the active profile', async () => {
    const [a, b] = [await stub(), await stub()];
    const { manager, profiles } = app(tempDir('opmas-userdata-'));
    const pa = profiles.create({ name: 'A', mode: 'attach', url: a.url });
    const pb = profiles.create({ name: 'B', mode: 'attach', url: b.url });
    cleanups.push(() => credentials.delete(pa.id), () => credentials.delete(pb.id));

    await manager.activate(pa.id);
    await manager.login('ops', 'correct horse');
    const tokenA = await manager.accessToken();
    await manager.activate(pb.id);
    expect(manager.info()).toMatchObject({ profile: { id: pb.id }, amsUrl: b.url, session: { status: 'signed-out' } });
    await manager.login('ops', 'correct horse');
    const tokenB = await manager.accessToken();
    expect(tokenB).not.toBe(tokenA);
    expect(profiles.list().lastUsedId).toBe(pb.id);

    // Forgetting A's credential (not active) deletes it from the keychain only.
    expect(await manager.forgetCredential(pa.id)).toBe(true);
    expect(await credentials.get(pa.id)).toBeNull();
    // Forgetting B's (active) also logs out at B.
    expect(await manager.forgetCredential(pb.id)).toBe(true);
    expect(b.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/logout', status: 204 });
    expect(manager.info().session.status).toBe('signed-out');

    await manager.login('ops', 'correct horse');
    const remaining = await manager.removeProfile(pb.id);
    expect(remaining).toEqual({ profiles: [{ ...pa, username: 'ops' }], lastUsedId: null });
    expect(manager.info().profile).toBeNull();
    expect(await credentials.get(pb.id)).toBeNull();
  });
});

describe('connection manager, host mode', () => {
  it('starts the bundled AMS for the host profile, stops it when switching away and starts it again', async () => {
    const ams = await stub();
    const userData = tempDir('opmas-userdata-');
    const { manager, profiles, host } = app(userData);
    const here = profiles.create({ name: 'This machine', mode: 'host' });
    const remote = profiles.create({ name: 'Remote', mode: 'attach', url: ams.url });
    cleanups.push(() => credentials.delete(remote.id));

    const opened = await manager.activate(here.id);
    expect(opened.profile?.mode).toBe('host');
    expect(opened.host?.status).toBe('starting');
    const running = await waitFor(manager, (i) => i.host?.status === 'running');
    expect(running.amsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(running.amsUrl).toBe(host.state().url);
    expect((await fetch(`${running.amsUrl}/api/v1/health`)).status).toBe(200);
    const pid = running.host!.pid!;

    await manager.activate(remote.id);
    expect(host.state().status).toBe('stopped');
    expect(isAlive(pid)).toBe(false);
    expect(manager.info()).toMatchObject({ profile: { id: remote.id }, host: null, amsUrl: ams.url });

    await manager.activate(here.id);
    const again = await waitFor(manager, (i) => i.host?.status === 'running');
    expect(again.host!.pid).not.toBe(pid);
    expect((await fetch(`${again.amsUrl}/api/v1/health`)).status).toBe(200);
    await expect(manager.login('ops', 'correct horse')).rejects.toMatchObject({ code: 'not_attach_mode' });

    await manager.shutdown();
    expect(host.state().status).toBe('stopped');
    expect(isAlive(again.host!.pid!)).toBe(false);
  });
});
