// Attach-mode and host-mode sessions against the real AMS (in-process, test/helpers/ams.ts),
// with refresh tokens in the real keychain. What the AMS did is read from its refresh_tokens
// table; what the client sent, from a recording fetch.
import { AsyncEntry } from '@napi-rs/keyring';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCredentialStore, profileTokenStore } from '../../src-main/credentials/credential-store.js';
import { createAuthClient } from '../../src-main/session/auth-client.js';
import { createSession, memoryTokenStore, refreshDelayMs, type Session } from '../../src-main/session/session.js';
import { generateHostSecret } from '../../src-main/host/host-launcher.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/wait.js';
import { assertPrivateKeyring } from './keyring-env.js';
import { type AmsUser, createUser, hashToken, liveRefreshTokens, meWith, recordingFetch, refreshTokenRow, userId } from './support/real-ams.js';

assertPrivateKeyring();
const keychain = createCredentialStore({ AsyncEntry, entryOptions: { linux: { store: 'secret-service' } } });
const HOST_SECRET = generateHostSecret();

let ams: TestAms;
beforeAll(async () => {
  ams = await startTestAms({ secrets: { hostSecret: HOST_SECRET } });
});
afterAll(async () => {
  await ams?.stop();
});

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

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
    /** Fires the pending timers; the caller waits for the state they lead to. */
    firePending: () => {
      for (const x of timers.filter((y) => !y.cancelled)) {
        x.cancelled = true;
        x.fn();
      }
    },
  };
}

type Recorder = ReturnType<typeof recordingFetch>;

function attachSession(profileId: string, opts: { time?: ReturnType<typeof manualTime>; rec?: Recorder; url?: string } = {}): Session {
  const time = opts.time ?? manualTime();
  const s = createSession({
    auth: createAuthClient({ baseUrl: opts.url ?? ams.url, fetch: opts.rec?.fetch }),
    tokens: profileTokenStore(keychain, profileId),
    now: time.now,
    schedule: time.schedule,
  });
  cleanups.push(() => s.dispose(), () => keychain.delete(profileId));
  return s;
}

async function operator(): Promise<AmsUser> {
  return createUser(ams, 'operator');
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
    const ops = await operator();
    const session = attachSession('p-login');
    await expect(session.login(ops.username, 'wrong password')).rejects.toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(session.state()).toMatchObject({ status: 'signed-out', error: { code: 'invalid_credentials' } });
    expect(await keychain.get('p-login')).toBeNull();
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([]);

    const state = await session.login(ops.username, ops.password);
    expect(state).toMatchObject({ status: 'signed-in', username: ops.username, error: null });
    const stored = (await keychain.get('p-login'))!;
    expect(stored).toMatch(/^ort_/);
    // The one refresh token the AMS would accept for this user is the one in the keychain.
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(stored)]);
    const token = await session.accessToken();
    const me = await meWith(ams.url, token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: ops.id, username: ops.username, type: 'user', role: 'operator' });
    expect(me.body.permissions).toContain('agents:read');
    expect(me.body.permissions).not.toContain('users:admin');
  });

  it('refreshes before expiry, rotating the stored refresh token', async () => {
    const ops = await operator();
    const time = manualTime();
    const rec = recordingFetch();
    const session = attachSession('p-rotate', { time, rec });
    await session.login(ops.username, ops.password);
    const firstRefresh = (await keychain.get('p-rotate'))!;
    const firstAccess = await session.accessToken();
    // The AMS's default access token lives 900 s: refresh a minute early.
    expect(session.state().expiresAt).toBe(time.now() + 900_000);
    expect(time.pending().map((t) => t.ms)).toEqual([840_000]);

    time.advance(840_000);
    time.firePending();
    await eventually(async () => session.state().expiresAt, (at) => at === time.now() + 900_000, 'the scheduled refresh');
    const secondRefresh = await keychain.get('p-rotate');
    expect(secondRefresh).not.toBe(firstRefresh);
    expect(rec.calls.filter((c) => c.path === '/api/v1/auth/refresh').map((c) => [c.refreshToken, c.status])).toEqual([[firstRefresh, 200]]);
    // The AMS rotated: the first token is spent, the stored one is the only live one.
    expect(await refreshTokenRow(ams, firstRefresh)).toEqual({ used: true, revoked: false });
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(secondRefresh!)]);
    const secondAccess = await session.accessToken();
    expect(secondAccess).not.toBe(firstAccess);
    expect((await meWith(ams.url, secondAccess)).status).toBe(200);
    expect(time.pending().map((t) => t.ms)).toEqual([840_000]);
  });

  it('shares one refresh between concurrent callers once the access token has expired', async () => {
    const ops = await operator();
    const time = manualTime();
    const rec = recordingFetch();
    const session = attachSession('p-flight', { time, rec });
    await session.login(ops.username, ops.password);
    time.advance(900_000);
    const tokens = await Promise.all([session.accessToken(), session.accessToken(), session.accessToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(rec.calls.filter((c) => c.path === '/api/v1/auth/refresh')).toHaveLength(1);
    expect(rec.calls.every((c) => c.status < 400)).toBe(true);
    // A second use of the same refresh token would have revoked the family: one live token remains.
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken((await keychain.get('p-flight'))!)]);
    expect((await meWith(ams.url, tokens[0])).status).toBe(200);
  });

  it('resumes in a later launch from the keychain alone', async () => {
    const ops = await operator();
    const rec = recordingFetch();
    const first = attachSession('p-resume', { rec });
    await first.login(ops.username, ops.password);
    const stored = await keychain.get('p-resume');
    first.dispose();

    const later = attachSession('p-resume', { rec });
    expect(later.state().status).toBe('signed-out');
    expect(await later.resume()).toMatchObject({ status: 'signed-in', error: null });
    expect(rec.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/refresh', refreshToken: stored, status: 200 });
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken((await keychain.get('p-resume'))!)]);
    expect((await meWith(ams.url, await later.accessToken())).status).toBe(200);
  });

  it('treats a refused (reused) refresh token as an expired session and forgets it', async () => {
    const ops = await operator();
    const rec = recordingFetch();
    const session = attachSession('p-reused', { rec });
    await session.login(ops.username, ops.password);
    const stolen = (await keychain.get('p-reused'))!;
    // Someone else used the refresh token first; ours is now a reused one.
    const thief = await ams.anon.post('/api/v1/auth/refresh', { refresh_token: stolen });
    expect(thief.status).toBe(200);
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(thief.body.refresh_token)]);

    const later = attachSession('p-reused', { rec });
    expect(await later.resume()).toMatchObject({ status: 'expired', error: { code: 'session_expired', message: expect.stringContaining('used elsewhere') } });
    expect(rec.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/refresh', refreshToken: stolen, status: 401 });
    expect(await keychain.get('p-reused')).toBeNull();
    expect(await later.accessToken()).toBeNull();
    // The AMS revoked the whole family: the thief's rotated token is dead too.
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([]);
    expect((await ams.anon.post('/api/v1/auth/refresh', { refresh_token: thief.body.refresh_token })).body.error.code).toBe('refresh_token_reused');
  });

  it('logs out at the AMS, revoking the refresh family and the access token, and deletes the stored token', async () => {
    const ops = await operator();
    const rec = recordingFetch();
    const session = attachSession('p-logout', { rec });
    await session.login(ops.username, ops.password);
    const stored = (await keychain.get('p-logout'))!;
    const access = await session.accessToken();
    expect(await session.logout()).toMatchObject({ status: 'signed-out' });
    expect(rec.calls.at(-1)).toMatchObject({ path: '/api/v1/auth/logout', refreshToken: stored, status: 204 });
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([]);
    expect(await refreshTokenRow(ams, stored)).toMatchObject({ revoked: true });
    // The access token handed out before is refused at once, not only when it expires.
    expect(await meWith(ams.url, access)).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
    expect(await keychain.get('p-logout')).toBeNull();
    expect(await session.accessToken()).toBeNull();
  });

  it('goes offline without losing the refresh token when the AMS does not answer, and recovers when it does', async () => {
    const ops = await operator();
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(ams.url).port));
    cleanups.push(() => proxy.close());
    const time = manualTime();
    const session = attachSession('p-offline', { time, url: `http://127.0.0.1:${proxy.port}` });
    await session.login(ops.username, ops.password);
    const stored = await keychain.get('p-offline');
    await proxy.cut();
    time.advance(900_000);
    await expect(session.accessToken()).rejects.toMatchObject({ code: 'ams_unreachable' });
    expect(session.state()).toMatchObject({ status: 'offline', error: { code: 'ams_unreachable' } });
    expect(await keychain.get('p-offline')).toBe(stored);
    expect(await liveRefreshTokens(ams, ops.id)).toEqual([hashToken(stored!)]);
    // A retry is scheduled; once the AMS answers again it signs in with the kept token.
    expect(time.pending().map((t) => t.ms)).toEqual([10_000]);
    await proxy.restore();
    time.advance(10_000);
    time.firePending();
    await eventually(async () => session.state(), (s) => s.status === 'signed-in' && s.error === null, 'the retried refresh');
    expect(await keychain.get('p-offline')).not.toBe(stored);
    expect((await meWith(ams.url, await session.accessToken())).status).toBe(200);
  });

  it('keeps the refresh token when the AMS rate-limits the refresh, and retries when the AMS says', async () => {
    // An AMS that allows three anonymous API requests a minute from this address.
    const limited = await startTestAms({ settings: { rateLimitPerMinute: 3 } });
    cleanups.push(() => limited.stop());
    const ops = await createUser(limited, 'operator');
    const time = manualTime();
    const rec = recordingFetch();
    const session = attachSession('p-limited', { time, rec, url: limited.url });
    await session.login(ops.username, ops.password);
    const stored = (await keychain.get('p-limited'))!;
    // Health probes have their own limit; another anonymous call uses up the API budget.
    await eventually(async () => (await limited.anon.get('/api/v1/openapi.json')).status, (st) => st === 429, 'the anonymous budget to run out');

    time.advance(840_000);
    time.firePending();
    await eventually(async () => session.state(), (s) => s.error?.code === 'rate_limited', 'the refused refresh');
    const refused = rec.calls.at(-1)!;
    expect(refused).toMatchObject({ path: '/api/v1/auth/refresh', refreshToken: stored, status: 429 });
    // Still signed in (the access token has a minute left), the token kept and still live at the AMS.
    expect(session.state().status).toBe('signed-in');
    expect(await keychain.get('p-limited')).toBe(stored);
    expect(await liveRefreshTokens(limited, ops.id)).toEqual([hashToken(stored)]);
    expect(refused.retryAfter).toBeGreaterThan(0);
    expect(time.pending().map((t) => t.ms)).toEqual([refused.retryAfter! * 1000]);
  });
});

describe('host session', () => {
  it('signs in with the per-launch secret, keeps tokens in memory only, and signs in again when refresh is refused', async () => {
    const time = manualTime();
    const rec = recordingFetch();
    const auth = createAuthClient({ baseUrl: ams.url, fetch: rec.fetch });
    const tokens = memoryTokenStore();
    const session = createSession({ auth, tokens, obtain: () => auth.hostSession(HOST_SECRET), now: time.now, schedule: time.schedule });
    cleanups.push(() => session.dispose());

    expect(await session.resume()).toMatchObject({ status: 'signed-in' });
    expect(rec.calls.map((c) => [c.path, c.status])).toEqual([['/api/v1/auth/host-session', 200]]);
    const first = await session.accessToken();
    const me = await meWith(ams.url, first);
    expect(me.body).toMatchObject({ username: 'local-admin', type: 'user', role: 'admin' });
    expect(me.body.permissions).toContain('users:admin');
    const hostUser = await userId(ams, 'local-admin');
    expect(await liveRefreshTokens(ams, hostUser)).toEqual([hashToken((await tokens.get())!)]);
    await expect(session.login('ops', 'correct horse')).rejects.toMatchObject({ code: 'not_attach_mode' });

    // An admin changes the host user: the AMS revokes every token it holds. The next refresh is refused; the secret still works.
    expect((await ams.api.put(`/api/v1/users/${hostUser}`, { role: 'admin' })).status).toBe(200);
    expect((await meWith(ams.url, first)).status).toBe(401);
    expect(await liveRefreshTokens(ams, hostUser)).toEqual([]);
    time.advance(900_000);
    const fresh = await session.accessToken();
    expect(rec.calls.slice(-2).map((c) => [c.path, c.status])).toEqual([
      ['/api/v1/auth/refresh', 401],
      ['/api/v1/auth/host-session', 200],
    ]);
    expect(fresh).not.toBe(first);
    expect((await meWith(ams.url, fresh)).status).toBe(200);
    expect(await liveRefreshTokens(ams, hostUser)).toEqual([hashToken((await tokens.get())!)]);
  });

  it('reports a wrong secret', async () => {
    const auth = createAuthClient({ baseUrl: ams.url });
    const session = createSession({ auth, tokens: memoryTokenStore(), obtain: () => auth.hostSession(generateHostSecret()) });
    cleanups.push(() => session.dispose());
    expect(await session.resume()).toMatchObject({ status: 'signed-out', error: { code: 'invalid_host_secret' } });
    expect(await session.accessToken().catch((e: { code: string }) => e.code)).toBe('invalid_host_secret');
  });
});
