// Authentication: login, refresh rotation and reuse detection, logout, token validation
// (RFC 8725), immediate revocation, setup, host sessions and API tokens.
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, startTestAms, testPassword, type TestAms } from '../../helpers/ams.js';
import { recordSecret } from '../../helpers/secrets.js';

const JWT_SECRET = `jwt-secret-for-tests-${'x'.repeat(24)}`;
const key = new TextEncoder().encode(JWT_SECRET);
let t: TestAms;
beforeAll(async () => {
  t = await startTestAms({ secrets: { jwtSecret: JWT_SECRET } });
});
afterAll(() => t.stop());

const me = (token: string) => apiClient(t.url, token).get('/api/v1/auth/me');

describe('login', () => {
  it('answers a token pair for the right password and 401 otherwise', async () => {
    const res = await t.anon.post('/api/v1/auth/login', { username: 'admin', password: t.adminPassword });
    expect(res.status).toBe(200);
    recordSecret(res.body.access_token, res.body.refresh_token);
    expect(res.body).toEqual({ access_token: expect.any(String), refresh_token: expect.stringMatching(/^ort_/), token_type: 'Bearer', expires_in: 900 });
    const who = await me(res.body.access_token);
    expect(who.body).toMatchObject({ username: 'admin', role: 'admin', type: 'user', agent_id: null });
    expect(who.body.permissions).toContain('users:admin');

    const wrong = await t.anon.post('/api/v1/auth/login', { username: 'admin', password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    const unknown = await t.anon.post('/api/v1/auth/login', { username: 'nobody', password: 'whatever-it-is' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
  });

  it('answers 401 in the error shape without a token, with a malformed header, and with garbage', async () => {
    for (const headers of [{} as Record<string, string>, { Authorization: 'Basic abc' }, { Authorization: 'Bearer not.a.jwt' }, { Authorization: 'Bearer oat_unknown' }]) {
      const res = await t.anon.get('/api/v1/agents', headers);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: expect.stringMatching(/^(unauthenticated|invalid_token)$/), message: expect.any(String) });
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }
  });
});

describe('access tokens (RFC 8725)', () => {
  const claims = async (overrides: { iss?: string; aud?: string; exp?: number; alg?: string; sub?: string }) => {
    const who = await t.api.get('/api/v1/auth/me');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: 'admin', tv: 0 })
      .setProtectedHeader({ alg: overrides.alg ?? 'HS256' })
      .setIssuer(overrides.iss ?? 'opmas-ams')
      .setAudience(overrides.aud ?? 'opmas-api')
      .setSubject(overrides.sub ?? who.body.id)
      .setJti(crypto.randomUUID())
      .setIssuedAt(now - 100)
      .setExpirationTime(overrides.exp ?? now + 600)
      .sign(key);
  };

  it('accepts a correctly signed token and refuses expired, wrong-aud, wrong-iss, other-alg, tampered and alg:none tokens', async () => {
    const good = await claims({});
    expect((await me(good)).status).toBe(200);
    const bad = {
      expired: await claims({ exp: Math.floor(Date.now() / 1000) - 10 }),
      wrongAud: await claims({ aud: 'someone-else' }),
      wrongIss: await claims({ iss: 'evil' }),
      hs512: await claims({ alg: 'HS512' }),
      tampered: (() => {
        const [h, p, s] = good.split('.');
        const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
        payload.role = 'admin';
        payload.sub = '00000000-0000-4000-8000-000000000000';
        return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
      })(),
      none: new UnsecuredJWT({ role: 'admin', tv: 0 }).setIssuer('opmas-ams').setAudience('opmas-api').setSubject('x').setJti('j').setIssuedAt().setExpirationTime('10m').encode(),
    };
    for (const [name, token] of Object.entries(bad)) {
      const res = await me(token);
      expect(res.status, name).toBe(401);
      expect(res.body.error.code, name).toBe('invalid_token');
    }
    expect((await me(bad.expired)).body.error.message).toContain('expired');
  });

  it('refuses a token once it expires, though it was accepted (and remembered as verified) before', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const token = await claims({ exp: expiresAt });
    expect((await me(token)).status).toBe(200);
    expect((await me(token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, expiresAt * 1000 - Date.now() + 50));
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toContain('expired');
  });
});

describe('refresh tokens (RFC 9700 §2.2.2)', () => {
  it('rotate on every use; reusing a rotated one revokes the whole family', async () => {
    const first = await login(t.url, 'admin', t.adminPassword);
    const r1 = await t.anon.post('/api/v1/auth/refresh', { refresh_token: first.refresh_token });
    expect(r1.status).toBe(200);
    recordSecret(r1.body.access_token, r1.body.refresh_token);
    expect(r1.body.refresh_token).not.toBe(first.refresh_token);
    expect((await me(r1.body.access_token)).status).toBe(200);

    const reuse = await t.anon.post('/api/v1/auth/refresh', { refresh_token: first.refresh_token });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe('refresh_token_reused');
    // The legitimate holder's newer token is gone too.
    const after = await t.anon.post('/api/v1/auth/refresh', { refresh_token: r1.body.refresh_token });
    expect(after.status).toBe(401);
    // Other logins are untouched.
    const other = await login(t.url, 'admin', t.adminPassword);
    expect((await t.anon.post('/api/v1/auth/refresh', { refresh_token: other.refresh_token })).status).toBe(200);
  });

  it('let exactly one of two concurrent refreshes with the same token win', async () => {
    const s = await login(t.url, 'admin', t.adminPassword);
    const results = await Promise.all([1, 2].map(() => t.anon.post('/api/v1/auth/refresh', { refresh_token: s.refresh_token })));
    for (const r of results) if (r.status === 200) recordSecret(r.body.access_token, r.body.refresh_token);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });
});

describe('revocation', () => {
  it('logout revokes the access token at once and the refresh family', async () => {
    const s = await login(t.url, 'admin', t.adminPassword);
    expect((await me(s.access_token)).status).toBe(200);
    const out = await apiClient(t.url, s.access_token).post('/api/v1/auth/logout', { refresh_token: s.refresh_token });
    expect(out.status).toBe(204);
    expect((await me(s.access_token)).status).toBe(401);
    expect((await t.anon.post('/api/v1/auth/refresh', { refresh_token: s.refresh_token })).status).toBe(401);
  });

  it('a role change or disabling a user revokes its access tokens at once', async () => {
    const op = await t.userWith('operator');
    expect((await op.api.get('/api/v1/agents')).status).toBe(200);
    expect((await t.api.put(`/api/v1/users/${op.id}`, { role: 'read-only' })).status).toBe(200);
    expect((await op.api.get('/api/v1/agents')).status).toBe(401);
    const again = await login(t.url, op.username, op.password);
    expect((await me(again.access_token)).body.role).toBe('read-only');
    expect((await t.api.put(`/api/v1/users/${op.id}`, { disabled: true })).status).toBe(200);
    expect((await me(again.access_token)).status).toBe(401);
    expect((await t.anon.post('/api/v1/auth/login', { username: op.username, password: op.password })).status).toBe(401);
  });
});

describe('API tokens', () => {
  it('are shown once, listed without the secret, work as bearer tokens and are revoked at once', async () => {
    const created = await t.api.post('/api/v1/tokens', { name: 'ci-bot', role: 'read-only', expires_in: 3600 });
    expect(created.status).toBe(201);
    recordSecret(created.body.token);
    expect(created.body).toMatchObject({ name: 'ci-bot', role: 'read-only', token: expect.stringMatching(/^oat_/), created_by: 'admin' });
    const bot = apiClient(t.url, created.body.token);
    expect((await bot.get('/api/v1/agents')).status).toBe(200);
    expect((await bot.get('/api/v1/auth/me')).body).toMatchObject({ type: 'token', role: 'read-only', username: 'ci-bot' });
    expect((await bot.post('/api/v1/agents', { agent_name: 'X', agent_version: '1.0.0', agent_type: 'x' })).status).toBe(403);

    const list = await t.api.get('/api/v1/tokens');
    const listed = list.body.items.find((i: { id: string }) => i.id === created.body.id);
    expect(listed).toMatchObject({ name: 'ci-bot', revoked_at: null });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);

    expect((await t.api.delete(`/api/v1/tokens/${created.body.id}`)).status).toBe(200);
    expect((await bot.get('/api/v1/agents')).status).toBe(401);
    expect((await t.api.delete(`/api/v1/tokens/${created.body.id}`)).status).toBe(409);
    expect((await t.api.delete('/api/v1/tokens/not-a-uuid')).status).toBe(404);
  });

  it('expire', async () => {
    const created = await t.api.post('/api/v1/tokens', { name: 'short', role: 'read-only', expires_in: 60 });
    recordSecret(created.body.token);
    await t.ams.db.knex('api_tokens').where({ id: created.body.id }).update({ expires_at: new Date(Date.now() - 1000) });
    const res = await apiClient(t.url, created.body.token).get('/api/v1/agents');
    expect(res.status).toBe(401);
    expect(res.body.error.message).toContain('expired');
  });

  it('cannot carry more permissions than their creator', async () => {
    const op = await t.userWith('operator');
    const res = await op.api.post('/api/v1/tokens', { name: 'escalate', role: 'admin' });
    expect(res.status).toBe(403);
  });
});

describe('first-run setup', () => {
  it('announces a one-time token that creates the first admin once', async () => {
    const lines: string[] = [];
    const fresh = await startTestAms({ noAdmin: true, announce: (l) => lines.push(l) });
    try {
      const token = /setup token: (ost_\S+)/.exec(lines.join('\n'))?.[1];
      expect(token).toBeDefined();
      recordSecret(token);
      expect((await fresh.anon.get('/api/v1/agents')).status).toBe(401);
      const password = testPassword();
      const wrong = await fresh.anon.post('/api/v1/auth/setup', { token: 'ost_wrong', username: 'root', password });
      expect(wrong.status).toBe(401);
      const weak = await fresh.anon.post('/api/v1/auth/setup', { token, username: 'root', password: 'short' });
      expect(weak.status).toBe(400);
      const ok = await fresh.anon.post('/api/v1/auth/setup', { token, username: 'root', password });
      expect(ok.status).toBe(201);
      recordSecret(ok.body.access_token, ok.body.refresh_token);
      expect(ok.body.user).toMatchObject({ username: 'root', role: 'admin' });
      expect((await apiClient(fresh.url, ok.body.access_token).get('/api/v1/agents')).status).toBe(200);
      const again = await fresh.anon.post('/api/v1/auth/setup', { token, username: 'root2', password });
      expect(again.status).toBe(403);
      expect(again.body.error.code).toBe('setup_not_available');
    } finally {
      await fresh.stop();
    }
  });

  it('creates user admin from OPMAS_ADMIN_PASSWORD without announcing anything', async () => {
    const lines: string[] = [];
    const withAdmin = await startTestAms({ announce: (l) => lines.push(l) });
    try {
      expect(lines).toEqual([]);
      expect((await withAdmin.api.get('/api/v1/auth/me')).body.username).toBe('admin');
    } finally {
      await withAdmin.stop();
    }
  });
});

describe('host session', () => {
  it('gives the desktop app an admin session for the per-launch secret only', async () => {
    const secret = `host-${crypto.randomUUID()}`;
    const hosted = await startTestAms({ secrets: { hostSecret: secret } });
    try {
      const ok = await hosted.anon.post('/api/v1/auth/host-session', { secret });
      expect(ok.status).toBe(200);
      recordSecret(ok.body.access_token, ok.body.refresh_token);
      expect((await apiClient(hosted.url, ok.body.access_token).get('/api/v1/auth/me')).body).toMatchObject({ username: 'local-admin', role: 'admin' });
      expect((await hosted.anon.post('/api/v1/auth/host-session', { secret: 'guess' })).status).toBe(401);
      expect((await hosted.anon.post('/api/v1/auth/login', { username: 'local-admin', password: 'anything-at-all' })).status).toBe(401);
    } finally {
      await hosted.stop();
    }
    expect((await t.anon.post('/api/v1/auth/host-session', { secret })).status).toBe(403);
  });
});
