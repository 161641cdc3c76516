// The real AMS as the desktop session tests see it: users made through its API, its
// refresh_tokens table read through its own repo (the AMS runs in this process), and a
// recording fetch that tells which auth calls a client made and what the AMS answered.
import { randomBytes } from 'node:crypto';
import { refreshTokensRepo, usersRepo } from '../../../server/db/auth.repo.js';
import { hashToken } from '../../../server/security/secrets.js';
import { type TestAms, testPassword } from '../../helpers/ams.js';
import { recordSecret } from '../../helpers/secrets.js';

export { hashToken };

export interface AmsUser {
  id: string;
  username: string;
  password: string;
}

/** A new user with `role`, made by the test AMS's admin. */
export async function createUser(ams: TestAms, role = 'operator', prefix = 'ops'): Promise<AmsUser> {
  const username = `${prefix}-${randomBytes(4).toString('hex')}`;
  const password = testPassword();
  const res = await ams.api.post('/api/v1/users', { username, password, role });
  if (res.status !== 201) throw new Error(`creating ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, username, password };
}

export async function userId(ams: TestAms, username: string): Promise<string> {
  const user = await usersRepo(ams.ams.db.knex).byUsername(username);
  if (!user) throw new Error(`no user ${username}`);
  return user.id;
}

/** Hashes of the user's refresh tokens the AMS would still accept: not used, not revoked, not expired. */
export async function liveRefreshTokens(ams: TestAms, forUserId: string): Promise<string[]> {
  const rows = await ams.ams.db.knex('refresh_tokens').where({ user_id: forUserId }).whereNull('used_at').whereNull('revoked_at').where('expires_at', '>', new Date());
  return rows.map((r: { token_hash: string }) => r.token_hash);
}

/** The AMS's row for a refresh token: whether it was used (rotated) or revoked. */
export async function refreshTokenRow(ams: TestAms, token: string): Promise<{ used: boolean; revoked: boolean } | null> {
  const row = await refreshTokensRepo(ams.ams.db.knex).byHash(hashToken(token));
  return row ? { used: row.used_at !== null, revoked: row.revoked_at !== null } : null;
}

export interface AuthCall {
  /** The URL path, e.g. /api/v1/auth/refresh. */
  path: string;
  /** Where it was sent (scheme, host and port). */
  origin: string;
  /** The refresh token the request carried, if any. */
  refreshToken?: string;
  status: number;
  /** Retry-After of the answer, in seconds. */
  retryAfter?: number;
}

/** A fetch for createAuthClient that records every call; token answers are recorded as secrets the logs must not contain. */
export function recordingFetch(): { fetch: typeof fetch; calls: AuthCall[] } {
  const calls: AuthCall[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    let refreshToken: string | undefined;
    if (typeof init?.body === 'string') {
      const body = JSON.parse(init.body) as { refresh_token?: unknown };
      if (typeof body.refresh_token === 'string') refreshToken = body.refresh_token;
    }
    let res: Response;
    try {
      res = await fetch(input, init);
    } catch (err) {
      // No answer: recorded with status 0, then thrown on as fetch threw it.
      calls.push({ path: url.pathname, origin: url.origin, ...(refreshToken ? { refreshToken } : {}), status: 0 });
      throw err;
    }
    const retryAfter = res.headers.get('retry-after');
    calls.push({ path: url.pathname, origin: url.origin, ...(refreshToken ? { refreshToken } : {}), status: res.status, ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}) });
    if (res.ok && (res.headers.get('content-type') ?? '').includes('json')) {
      const body = (await res.clone().json()) as { access_token?: string; refresh_token?: string };
      recordSecret(body.access_token, body.refresh_token);
    }
    return res;
  };
  return { fetch: recording, calls };
}

/** GET /api/v1/auth/me with a bearer token. */
export async function meWith(url: string, token: string | null): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}
