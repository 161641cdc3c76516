// Attach-mode and host-mode sessions against the AUTH CONTRACT STUB (support/auth-contract-stub.ts;
// the AMS in this branch has no auth endpoints yet), with refresh tokens in the real keychain.
import { AsyncEntry } from '@napi-rs/keyring';
import { afterEach, describe, expect, it } from 'vitest';
import { createCredentialStore, profileTokenStore } from '../../src-main/credentials/credential-store.js';
import { createAuthClient } from '../../src-main/session/auth-client.js';
import { createSession, memoryTokenStore, refreshDelayMs, type Session } from '../../src-main/session/session.js';
import { assertPrivateKeyring } from './keyring-env.js';
import { startAuthContractStub, type AuthContractStub } from './support/auth-contract-stub.js';

assertPrivateKeyring();
const keychain = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function stub(opts: Parameters<typeof startAuthContractStub>[0] = {}): Promise<AuthContractStub> {
  const s = await startAuthContractStub(opts);
  cleanups.push(() => s.close());
  return s;
}

/** A clock and a timer the test moves by hand. */
function manualTime() {
  let t = 1_700_000_000_000;
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  return {
    now: () => t,
    advance: (ms: number) => void (t += ms),
    schedule: (fn: () => void, ms: number) => {
      const timer = { fn, ms, cancelled: false };
      timers.push(timer);
      return () => void (timer.cancelled = true);
    },
    pending: () => timers.filter((x) => !x.cancelled),
    runPending: async () => {
      const due = timers.filter((x) => !x.cancelled);
      for (const x of due) {
        x.cancelled = true;
        x.fn();
      }
      await new Promise((r) => setTimeout(r, 50));
    },
  };
}

function attachSession(ams: AuthContractStub, profileId: string, time = manualTime()): Session {
  const s = createSession({ auth: createAuthClient({ baseUrl: ams.url }), tokens: profileTokenStore(keychain, profileId), now: time.now, schedule: time.schedule });
  cleanups.push(() => s.dispose(), () => keychain.delete(profileId));
  return s;
}

async function meWith(ams: AuthContractStub, token: string | null) {
  const res = await fetch(`${ams.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

describe('refreshDelayMs', () => {
  it('refreshes a fifth of the lifetime early, at most a minute early, never sooner than a second', () => {
    expect(refreshDelayMs(900)).toBe(840_000);
    expect(refreshDelayMs(100)).toBe(80_000);
    expect(refreshDelayMs(10)).toBe(8_000);
    expect(refreshDelayMs(1)).toBe(1000);
  });
});

describe('attach session', () => {
  it('refuses a wrong password with the AMS code, stores nothing, then logs in and keeps the refresh token in the keychain', async () => {
    const ams = await stub();
    const session = attachSession(ams, 'p-login');
    await expect(session.login('ops', 'wrong')).rejects.toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(session.state()).toMatchObject({ status: 'signed-out', error: { code: 'invalid_credentials' } });
    expect(await keychain.get('p-login')).toBeNull();

    const state = await session.login('ops', 'correct horse');
    expect(state).toMatchObject({ status: 'signed-in', username: 'ops', error: null });
    const stored = await keychain.get('p-login');
    expect(ams.liveRefreshTokens()).toEqual([stored]);
    const token = await session.accessToken();
    expect(await meWith(ams, token)).toEqual({ status: 200, body: { username: 'ops', role: 'operator', permissions: ['agents:read'] } });
  });

  it('refreshes before expiry, rotating the stored refresh token', async () => {
    const ams = await stub({ expiresIn: 900 });
    const time = manualTime();
    const session = attachSession(ams, 'p-rotate', time);
    await session.login('ops', 'correct horse');
    const firstRefresh = await keychain.get('p-rotate');
    const firstAccess = await session.accessToken();
    expect(time.pending().map((t) => t.ms)).toEqual([840_000]);

    time.advance(840_000);
    await time.runPending();
    const secondRefresh = await keychain.get('p-rotate');
    expect(secondRefresh).not.toBe(firstRefresh);
    expect(ams.liveRefreshTokens()).toEqual([secondRefresh]);
    expect(ams.calls.filter((c) => c.path === '/api/v1/auth/refresh').map((c) => c.refreshToken)).toEqual([firstRefresh]);
    const secondAccess = await session.accessToken();
    expect(secondAccess).not.toBe(firstAccess);
    expect((await meWith(ams, secondAccess)).status).toBe(200);
    expect(session.state().expiresAt).toBe(time.now() + 900_000);
  });

  it('shares one refresh between concurrent callers once the access token has expired', async () => {
    const ams = await stub();
    const time = manualTime();
    const session = attachSession(ams, 'p-flight', time);
    await session.login('ops', 'correct horse');
    time.advance(900_000);
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(ams.calls.filter((c) => c.path === '/api/v1/auth/refresh')).toHaveLength(1);
    expect(ams.calls.every((c) => c.status < 400)).toBe(true);
    expect((await meWith(ams, tokens[0])).status).toBe(200);
  });

  it('resumes in a later launch from the keychain alone', async () => {
    const ams = await stub();
    const first = attachSession(ams, 'p-resume');
    await first.login('ops', 'correct horse');
    const stored = await keychain.get('p-resume');
    first.dispose();

    const later = attachSession(ams, 'p-resume');
    expect(later.state().status).toBe('signed-out');
    expect(await later.resume()).toMatchObject({ status: 'signed-in', error: null });
    expect(ams.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/refresh', refreshToken: stored, status: 200 });
    expect((await meWith(ams, await later.accessToken())).status).toBe(200);
  });

  it('treats a refused (reused) refresh token as an expired session and forgets it', async () => {
    const ams = await stub();
    const session = attachSession(ams, 'p-reused');
    await session.login('ops', 'correct horse');
    const stolen = (await keychain.get('p-reused'))!;
    // Someone else used the refresh token first; ours is now a reused one.
    expect((await fetch(`${ams.url}/api/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: stolen }) })).status).toBe(200);

    const later = attachSession(ams, 'p-reused');
    expect(await later.resume()).toMatchObject({ status: 'expired', error: { code: 'session_expired' } });
    expect(ams.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/refresh', refreshToken: stolen, status: 401 });
    expect(await keychain.get('p-reused')).toBeNull();
    expect(await later.accessToken()).toBeNull();
  });

  it('logs out at the AMS and deletes the stored token', async () => {
    const ams = await stub();
    const session = attachSession(ams, 'p-logout');
    await session.login('ops', 'correct horse');
    const stored = await keychain.get('p-logout');
    expect(await session.logout()).toMatchObject({ status: 'signed-out' });
    expect(ams.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/logout', refreshToken: stored, status: 204 });
    expect(ams.liveRefreshTokens()).toEqual([]);
    expect(await keychain.get('p-logout')).toBeNull();
    expect(await session.accessToken()).toBeNull();
  });

  it('goes offline without losing the refresh token when the AMS does not answer', async () => {
    const ams = await stub();
    const time = manualTime();
    const session = attachSession(ams, 'p-offline', time);
    await session.login('ops', 'correct horse');
    const stored = await keychain.get('p-offline');
    await ams.close();
    time.advance(900_000);
    await expect(session.accessToken()).rejects.toMatchObject({ code: 'ams_unreachable' });
    expect(session.state()).toMatchObject({ status: 'offline', error: { code: 'ams_unreachable' } });
    expect(await keychain.get('p-offline')).toBe(stored);
    // A retry is scheduled.
    expect(time.pending().map((t) => t.ms)).toEqual([10_000]);
  });
});

describe('host session', () => {
  it('signs in with the per-launch secret, keeps tokens in memory only, and signs in again when refresh is refused', async () => {
    const secret = 'per-launch-secret-for-this-test';
    const ams = await stub({ hostSecret: secret });
    const time = manualTime();
    const auth = createAuthClient({ baseUrl: ams.url });
    const tokens = memoryTokenStore();
    const session = createSession({ auth, tokens, obtain: () => auth.hostSession(secret), now: time.now, schedule: time.schedule });
    cleanups.push(() => session.dispose());

    expect(await session.resume()).toMatchObject({ status: 'signed-in' });
    expect(ams.calls.map((c) => c.path)).toEqual(['/api/v1/auth/host-session']);
    const me = await meWith(ams, await session.accessToken());
    expect(me.body).toMatchObject({ username: 'host-admin', role: 'admin' });
    expect(await tokens.get()).toBe(ams.liveRefreshTokens()[0]);
    await expect(session.login('ops', 'correct horse')).rejects.toMatchObject({ code: 'not_attach_mode' });

    // The AMS forgot every token (e.g. it was reset): the next refresh is refused, the secret still works.
    ams.revokeAll();
    time.advance(900_000);
    const fresh = await session.accessToken();
    expect(ams.calls.slice(-3).map((c) => [c.path, c.status])).toEqual([
      ['/api/v1/auth/me', 200],
      ['/api/v1/auth/refresh', 401],
      ['/api/v1/auth/host-session', 200],
    ]);
    expect((await meWith(ams, fresh)).status).toBe(200);
  });

  it('reports a wrong secret', async () => {
    const ams = await stub({ hostSecret: 'right' });
    const auth = createAuthClient({ baseUrl: ams.url });
    const session = createSession({ auth, tokens: memoryTokenStore(), obtain: () => auth.hostSession('wrong') });
    cleanups.push(() => session.dispose());
    expect(await session.resume()).toMatchObject({ status: 'signed-out', error: { code: 'invalid_host_secret' } });
  });
});
