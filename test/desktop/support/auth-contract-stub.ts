// CONTRACT STUB of the AMS auth API, for the desktop session tests only, until the real
// endpoints land in this branch. It implements exactly the agreed contract and nothing else:
//   POST /api/v1/auth/login {username, password}  -> 200 {access_token, refresh_token, token_type: "Bearer", expires_in}
//   POST /api/v1/auth/refresh {refresh_token}      -> same shape; the refresh token rotates, a reused one is 401
//   POST /api/v1/auth/logout {refresh_token}       -> 204
//   POST /api/v1/auth/host-session {secret}         -> same shape, admin session (host mode)
//   GET  /api/v1/auth/me (Bearer)                   -> {username, role, permissions}
// Errors: {error: {code, message}}. Replace these tests' stub with the real AMS once it has auth.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubOptions {
  users?: Record<string, { password: string; role: string }>;
  hostSecret?: string;
  expiresIn?: number;
}

export interface AuthContractStub {
  url: string;
  /** Every call: path and the refresh token it presented, if any. */
  calls: Array<{ path: string; refreshToken?: string; status: number }>;
  /** Refresh tokens currently valid. */
  liveRefreshTokens(): string[];
  /** Makes every access token invalid (as after a server restart with new keys). */
  revokeAll(): void;
  close(): Promise<void>;
}

export async function startAuthContractStub(opts: StubOptions = {}): Promise<AuthContractStub> {
  const users = opts.users ?? { ops: { password: 'correct horse', role: 'operator' } };
  const expiresIn = opts.expiresIn ?? 900;
  const refresh = new Map<string, string>(); // refresh token -> username
  const access = new Map<string, string>(); // access token -> username
  const calls: AuthContractStub['calls'] = [];
  const token = (kind: string) => `${kind}_${randomBytes(18).toString('base64url')}`;
  const issue = (username: string) => {
    const a = token('at');
    const r = token('rt');
    access.set(a, username);
    refresh.set(r, username);
    return { access_token: a, refresh_token: r, token_type: 'Bearer', expires_in: expiresIn };
  };
  const role = (username: string) => (username === 'host-admin' ? 'admin' : (users[username]?.role ?? 'viewer'));

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      body = {};
    }
    const send = (status: number, payload?: unknown) => {
      calls.push({ path: req.url ?? '', refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined, status });
      res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json' });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const fail = (status: number, code: string, message: string) => send(status, { error: { code, message } });

    if (req.method === 'POST' && req.url === '/api/v1/auth/login') {
      const u = users[String(body.username)];
      if (!u || u.password !== body.password) return fail(401, 'invalid_credentials', 'Wrong user name or password');
      return send(200, issue(String(body.username)));
    }
    if (req.method === 'POST' && req.url === '/api/v1/auth/refresh') {
      const username = refresh.get(String(body.refresh_token));
      if (!username) return fail(401, 'invalid_refresh_token', 'The refresh token is not valid');
      refresh.delete(String(body.refresh_token));
      return send(200, issue(username));
    }
    if (req.method === 'POST' && req.url === '/api/v1/auth/logout') {
      refresh.delete(String(body.refresh_token));
      return send(204);
    }
    if (req.method === 'POST' && req.url === '/api/v1/auth/host-session') {
      if (!opts.hostSecret || body.secret !== opts.hostSecret) return fail(401, 'invalid_host_secret', 'The host secret is not valid');
      return send(200, issue('host-admin'));
    }
    if (req.method === 'GET' && req.url === '/api/v1/auth/me') {
      const username = access.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!username) return fail(401, 'unauthorized', 'A valid access token is required');
      return send(200, { username, role: role(username), permissions: role(username) === 'admin' ? ['*'] : ['agents:read'] });
    }
    return fail(404, 'not_found', `No route ${req.method} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    liveRefreshTokens: () => [...refresh.keys()],
    revokeAll() {
      access.clear();
      refresh.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
