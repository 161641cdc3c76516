// The AMS's auth API as the main process calls it (server/api/auth/routes.ts): POST
// /api/v1/auth/login, /refresh (rotates the refresh token; a reused one is 401
// refresh_token_reused), /logout (revokes the bearer access token and the refresh family),
// /host-session (host mode, with the per-launch secret); GET /api/v1/auth/me. Errors are
// {error:{code,message,details}}; 429 carries Retry-After.
import { gatewayFailure, networkFailure, type Unreachable } from '../connection/endpoints.js';
import { ConsoleError } from '../errors.js';

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  /** Seconds until the access token expires. */
  expires_in: number;
}

export interface Me {
  username: string;
  role: string;
  permissions: string[];
}

export interface AuthClient {
  login(username: string, password: string): Promise<TokenResponse>;
  refresh(refreshToken: string): Promise<TokenResponse>;
  /** Revokes the refresh token's family and, when given, the access token at once. */
  logout(refreshToken: string, accessToken?: string | null): Promise<void>;
  hostSession(secret: string): Promise<TokenResponse>;
  me(accessToken: string): Promise<Me>;
}

/** A failed auth call: the AMS's own code and HTTP status, or `ams_unreachable` (no answer, status null), or `bad_response`. */
export class AuthError extends ConsoleError {
  constructor(
    code: string,
    message: string,
    readonly status: number | null,
    /** When the AMS said to try again (Retry-After of a 429 or 503), in ms. */
    readonly retryAfterMs: number | null = null,
    /** Set when the URL gave no AMS answer (no answer at all, or a proxy's 502/503/504): another URL of the profile may. */
    readonly unreachable: Unreachable | null = null,
  ) {
    super(code, message);
    this.name = 'AuthError';
  }

  /** The AMS did not answer, is overloaded or failed: the credentials may still be good. */
  get transient(): boolean {
    return this.status === null ? this.code === 'ams_unreachable' : this.status === 429 || this.status >= 500;
  }
}

/** Retry-After in seconds (the AMS never sends the HTTP-date form), as ms; null when absent or odd. */
function retryAfterMs(header: string | null): number | null {
  const s = header === null ? NaN : Number(header);
  return Number.isFinite(s) && s >= 0 ? Math.ceil(s) * 1000 : null;
}

export interface AuthClientOptions {
  /** AMS base URL without a trailing slash, or a getter (the bundled AMS's URL is known once it is ready). */
  baseUrl: string | (() => string | null);
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function createAuthClient(opts: AuthClientOptions): AuthClient {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 15_000;

  async function call(path: string, init: { method: 'GET' | 'POST'; body?: unknown; bearer?: string }): Promise<unknown> {
    const baseUrl = typeof opts.baseUrl === 'function' ? opts.baseUrl() : opts.baseUrl;
    if (!baseUrl) throw new AuthError('ams_unreachable', 'The AMS is not running', null);
    let res: Response;
    try {
      res = await doFetch(`${baseUrl}/api/v1/auth/${path}`, {
        method: init.method,
        headers: {
          accept: 'application/json',
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
        },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new AuthError('ams_unreachable', `The AMS at ${baseUrl} did not answer (${cause})`, null, null, networkFailure(err));
    }
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; handled below
    }
    if (!res.ok) {
      const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      const code = typeof e?.code === 'string' ? e.code : res.status === 401 ? 'unauthorized' : `http_${res.status}`;
      const message = typeof e?.message === 'string' ? e.message : `The AMS answered ${res.status} to ${path}`;
      throw new AuthError(code, message, res.status, retryAfterMs(res.headers.get('retry-after')), gatewayFailure(res.status, res.headers.get('content-type')));
    }
    return body;
  }

  const tokens = async (path: string, body: unknown): Promise<TokenResponse> => {
    const t = (await call(path, { method: 'POST', body })) as Partial<TokenResponse> | undefined;
    if (!t || typeof t.access_token !== 'string' || typeof t.refresh_token !== 'string' || typeof t.expires_in !== 'number' || !(t.expires_in > 0)) {
      throw new AuthError('bad_response', `The AMS's answer to ${path} is not a token response`, 200);
    }
    return { access_token: t.access_token, refresh_token: t.refresh_token, token_type: 'Bearer', expires_in: t.expires_in };
  };

  return {
    login: (username, password) => tokens('login', { username, password }),
    refresh: (refreshToken) => tokens('refresh', { refresh_token: refreshToken }),
    hostSession: (secret) => tokens('host-session', { secret }),
    async logout(refreshToken, accessToken) {
      await call('logout', { method: 'POST', body: { refresh_token: refreshToken }, bearer: accessToken ?? undefined });
    },
    async me(accessToken) {
      const me = (await call('me', { method: 'GET', bearer: accessToken })) as Me | undefined;
      if (!me || typeof me.username !== 'string') throw new AuthError('bad_response', "The AMS's answer to me is not a user", 200);
      return me;
    },
  };
}
