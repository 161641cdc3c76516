// Revoking a login revokes every token of it: after a refresh token is reused, after a logout,
// or when the user changes, the access tokens issued from that login are refused at once,
// though they have not expired. Other logins of the same user are not touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { apiClient, login, startTestAms, type TestAms } from '../../helpers/ams.js';
import { recordSecret } from '../../helpers/secrets.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t.stop());

const me = (token: string) => apiClient(t.url, token).get('/api/v1/auth/me');
async function refresh(refreshToken: string) {
  const res = await t.anon.post('/api/v1/auth/refresh', { refresh_token: refreshToken });
  if (res.status === 200) recordSecret(res.body.access_token, res.body.refresh_token);
  return res;
}

describe('session revocation', () => {
  it('names the login in every access token issued from it', async () => {
    const u = await t.userWith('read-only');
    const first = decodeJwt(u.session.access_token);
    expect(first.sid).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    const next = await refresh(u.session.refresh_token);
    expect(decodeJwt(next.body.access_token).sid).toBe(first.sid);
    const other = await login(t.url, u.username, u.password);
    expect(decodeJwt(other.access_token).sid).not.toBe(first.sid);
  });

  it('refuses every access token of the login at once after refresh_token_reused, and only those', async () => {
    const u = await t.userWith('read-only');
    const elsewhere = await login(t.url, u.username, u.password);
    const early = u.session.access_token;
    const rotated = await refresh(u.session.refresh_token);
    expect(rotated.status).toBe(200);
    expect((await me(early)).status).toBe(200);
    expect((await me(rotated.body.access_token)).status).toBe(200);

    // Someone replays the first refresh token: the whole login is revoked.
    const reused = await refresh(u.session.refresh_token);
    expect(reused.status).toBe(401);
    expect(reused.body.error.code).toBe('refresh_token_reused');

    for (const token of [early, rotated.body.access_token]) {
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
      expect(res.body.error.message).toContain('revoked');
    }
    expect((await refresh(rotated.body.refresh_token)).status).toBe(401);
    // The user's other login goes on.
    expect((await me(elsewhere.access_token)).status).toBe(200);
    expect((await refresh(elsewhere.refresh_token)).status).toBe(200);
  });

  it('records the revoked login in the database, where every replica reads it', async () => {
    const u = await t.userWith('read-only');
    await refresh(u.session.refresh_token);
    await refresh(u.session.refresh_token);
    const sid = decodeJwt(u.session.access_token).sid as string;
    const row = await t.ams.db.knex('revoked_sessions').where({ family_id: sid }).first();
    expect(row).toMatchObject({ reason: 'refresh_token_reused' });
    expect(row.expires_at.getTime()).toBeGreaterThan(Date.now());
  });

  it('logout revokes every access token of that login, including ones issued before the last refresh', async () => {
    const u = await t.userWith('read-only');
    const early = u.session.access_token;
    const rotated = await refresh(u.session.refresh_token);
    const res = await apiClient(t.url, rotated.body.access_token).post('/api/v1/auth/logout', {});
    expect(res.status).toBe(204);
    expect((await me(rotated.body.access_token)).status).toBe(401);
    expect((await me(early)).status).toBe(401);
    expect((await refresh(rotated.body.refresh_token)).status).toBe(401);
  });

  it('a disabled user loses every token at once', async () => {
    const u = await t.userWith('operator');
    expect((await me(u.session.access_token)).status).toBe(200);
    expect((await t.api.put(`/api/v1/users/${u.id}`, { disabled: true })).status).toBe(200);
    expect((await me(u.session.access_token)).status).toBe(401);
    expect((await refresh(u.session.refresh_token)).status).toBe(401);
  });
});
