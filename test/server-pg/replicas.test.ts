// PostgreSQL run only (PGlite serves one process): two AMS replicas on one database, as a
// cluster behind a load balancer runs them. A login revoked on one is refused by the other
// within the revocation cache's age, and the login and failed-authentication limits count for
// the cluster, not per replica.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { apiClient, login, startTestAms, type TestAms } from '../helpers/ams.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

let a: TestAms;
let b: TestAms;
beforeAll(async () => {
  // Replicas share the signing key, as OPMAS_JWT_SECRET; the test client is the trusted proxy
  // (the load balancer), so each test can act as its own client address.
  const jwtSecret = randomBytes(32).toString('base64url');
  // The default limits: 10 login attempts and 30 failed authentications per minute and address.
  const settings = { loginRateLimitPerMinute: 10, authFailureRateLimitPerMinute: 30, trustProxy: ['127.0.0.1'] };
  a = await startTestAms({ secrets: { jwtSecret }, settings });
  b = await startTestAms({ noAdmin: true, secrets: { jwtSecret }, settings: { ...settings, dbUrl: a.dbUrl } });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

const from = (client: string) => ({ 'X-Forwarded-For': client });
/** A client of replica `t` at its own address (behind the trusted proxy), so that one test's refusals never count against another's. */
const as = (t: TestAms, token: string, client: string) => {
  const api = apiClient(t.url, token);
  return { get: (p: string) => api.get(p, from(client)), post: (p: string, body: unknown) => api.post(p, body, from(client)) };
};

describe('two replicas on one database', () => {
  it('share users and sessions', async () => {
    const u = await a.userWith('read-only');
    expect((await as(b, u.session.access_token, '198.51.100.1').get('/api/v1/auth/me')).body).toMatchObject({ username: u.username });
  });

  it('refuse on the other replica, too, every access token of a login whose refresh token was reused', async () => {
    const u = await a.userWith('read-only');
    const early = u.session.access_token;
    const rotated = await a.anon.post('/api/v1/auth/refresh', { refresh_token: u.session.refresh_token });
    expect(rotated.status).toBe(200);
    recordSecret(rotated.body.access_token, rotated.body.refresh_token);
    // Both replicas accept both tokens: they have been verified and cached on b.
    for (const token of [early, rotated.body.access_token]) expect((await as(b, token, '198.51.100.2').get('/api/v1/auth/me')).status).toBe(200);

    const reused = await a.anon.post('/api/v1/auth/refresh', { refresh_token: u.session.refresh_token });
    expect(reused.body.error.code).toBe('refresh_token_reused');
    // At once on the replica that saw the reuse...
    for (const token of [early, rotated.body.access_token]) expect((await as(a, token, '198.51.100.2').get('/api/v1/auth/me')).status).toBe(401);
    // ...and on the other one as soon as its cache (at most 2 s old) is read again.
    for (const token of [early, rotated.body.access_token]) {
      const res = await eventually(() => as(b, token, '198.51.100.2').get('/api/v1/auth/me'), (r) => r.status !== 200, 'the other replica to refuse the revoked login', 15_000, 50);
      expect(res.status).toBe(401);
      expect(res.body.error.message).toContain('revoked');
    }
    const other = await login(b.url, u.username, u.password);
    expect(decodeJwt(other.access_token).sid).not.toBe(decodeJwt(early).sid);
    expect((await as(a, other.access_token, '198.51.100.2').get('/api/v1/auth/me')).status).toBe(200);
  });

  it('refuse on the other replica a login logged out on one', async () => {
    const u = await a.userWith('read-only');
    expect((await as(b, u.session.access_token, '198.51.100.3').get('/api/v1/auth/me')).status).toBe(200);
    expect((await as(a, u.session.access_token, '198.51.100.3').post('/api/v1/auth/logout', {})).status).toBe(204);
    await eventually(() => as(b, u.session.access_token, '198.51.100.3').get('/api/v1/auth/me'), (r) => r.status === 401, 'the logout to reach the other replica', 15_000, 50);
  });

  it('refuse on the other replica the tokens of a disabled user, and of a revoked API token', async () => {
    const u = await a.userWith('operator');
    const token = (await a.api.post('/api/v1/tokens', { name: `t-${u.username}`, role: 'read-only' })).body;
    recordSecret(token.token);
    expect((await as(b, u.session.access_token, '198.51.100.4').get('/api/v1/auth/me')).status).toBe(200);
    expect((await as(b, token.token, '198.51.100.4').get('/api/v1/auth/me')).status).toBe(200);
    expect((await a.api.put(`/api/v1/users/${u.id}`, { disabled: true })).status).toBe(200);
    expect((await a.api.delete(`/api/v1/tokens/${token.id}`)).status).toBe(200);
    await eventually(() => as(b, u.session.access_token, '198.51.100.4').get('/api/v1/auth/me'), (r) => r.status === 401, 'the disabled user to be refused on the other replica', 15_000, 50);
    await eventually(() => as(b, token.token, '198.51.100.4').get('/api/v1/auth/me'), (r) => r.status === 401, 'the revoked API token to be refused on the other replica', 15_000, 50);
  });

  it('count login attempts for the cluster: the 11th bad login is 429 on either replica', async () => {
    const client = from('198.51.100.11');
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      const replica = i % 2 === 0 ? a : b;
      statuses.push((await replica.anon.post('/api/v1/auth/login', { username: `nobody-${i}`, password: 'wrong-password' }, client)).status);
    }
    expect(statuses).toEqual(Array(10).fill(401));
    for (const replica of [a, b]) {
      const res = await replica.anon.post('/api/v1/auth/login', { username: 'nobody-11', password: 'wrong-password' }, client);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another client is not limited.
    expect((await b.anon.post('/api/v1/auth/login', { username: 'nobody', password: 'wrong-password' }, from('198.51.100.12'))).status).toBe(401);
  });

  it('count failed authentications for the cluster', async () => {
    const client = from('198.51.100.21');
    for (let i = 0; i < 30; i++) {
      const replica = i % 2 === 0 ? a : b;
      expect((await replica.anon.get('/api/v1/agents', { ...client, Authorization: `Bearer forged-${i}` })).status).toBe(401);
    }
    for (const replica of [a, b]) expect((await replica.anon.get('/api/v1/agents', { ...client, Authorization: 'Bearer forged-31' })).status).toBe(429);
  });
});

describe('first-run setup on two replicas', () => {
  it('takes the setup token either replica printed on the other, and ends setup on both', async () => {
    const lines: string[] = [];
    const jwtSecret = randomBytes(32).toString('base64url');
    const c = await startTestAms({ noAdmin: true, secrets: { jwtSecret }, announce: (l) => lines.push(`c ${l}`) });
    const d = await startTestAms({ noAdmin: true, secrets: { jwtSecret }, settings: { dbUrl: c.dbUrl }, announce: (l) => lines.push(`d ${l}`) });
    try {
      const tokenOf = (who: string) => new RegExp(`^${who} .*setup token: (ost_\\S+)`, 'm').exec(lines.join('\n'))?.[1];
      const [cToken, dToken] = [tokenOf('c'), tokenOf('d')];
      expect(cToken).toBeDefined();
      expect(dToken).toBeDefined();
      recordSecret(cToken, dToken);
      for (const r of [c, d]) expect((await r.anon.get('/api/v1/auth/setup')).body).toEqual({ setup_required: true });
      // C printed it, D takes it (a load balancer sent the request there).
      const password = `pw-${randomBytes(12).toString('base64url')}`;
      recordSecret(password);
      const ok = await d.anon.post('/api/v1/auth/setup', { token: cToken, username: 'root', password });
      expect(ok.status).toBe(201);
      recordSecret(ok.body.access_token, ok.body.refresh_token);
      // Setup is over on both: D's own token is refused on C, and C says so within its cache's age.
      const late = await c.anon.post('/api/v1/auth/setup', { token: dToken, username: 'root2', password });
      expect(late.status).toBe(403);
      expect(late.body.error.code).toBe('setup_not_available');
      await eventually(() => c.anon.get('/api/v1/auth/setup'), (r) => r.body.setup_required === false, 'setup no longer required on C', 15_000, 100);
    } finally {
      await d.stop();
      await c.stop();
    }
  });
});
