// JSON over HTTP to the AMS with the session's bearer token; a 401 renews the session once
// and retries. Paths are relative to /api/v1: the AMS serves the web console on the same
// origin, and the desktop app's opmas://console protocol proxies /api/ to the active AMS.
import { ApiError, NetworkError } from './errors';

export const API_BASE = '/api/v1';

/** Where the bearer token comes from: the browser login session, or the desktop bridge. */
export interface TokenSource {
  /** A valid access token, or null when signed out. */
  accessToken(): Promise<string | null>;
  /** After a 401: try once to get a fresh token; false when the session is over. */
  renew(): Promise<boolean>;
}

export type Query = Record<string, string | number | boolean | null | undefined | Array<string | number>>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** No bearer token (login, setup, health). */
  anonymous?: boolean;
  /** Answer the body as text rather than parsed JSON (exports). */
  text?: boolean;
}

export interface HttpClient {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  get<T>(path: string, opts?: Omit<RequestOptions, 'body'>): Promise<T>;
  post<T>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'body'>): Promise<T>;
  put<T>(path: string, body?: unknown, opts?: Omit<RequestOptions, 'body'>): Promise<T>;
  delete<T>(path: string, opts?: Omit<RequestOptions, 'body'>): Promise<T>;
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export interface HttpDeps {
  tokens: TokenSource;
  fetch?: typeof fetch;
  /** Origin prefix, '' for same-origin (both the web console and opmas://console). */
  baseUrl?: string;
  /** Told when the AMS answered or did not, to show the connection state. */
  onReachability?(reachable: boolean): void;
}

export function createHttpClient(deps: HttpDeps): HttpClient {
  const doFetch = deps.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const base = deps.baseUrl ?? '';

  async function send(method: string, path: string, opts: RequestOptions, token: string | null): Promise<Response> {
    const url = `${base}${API_BASE}${path}${buildQuery(opts.query)}`;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const res = await doFetch(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
      deps.onReachability?.(res.status !== 502 && res.status !== 503);
      return res;
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      deps.onReachability?.(false);
      throw new NetworkError(`${method} ${API_BASE}${path}`, err);
    }
  }

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    let token = opts.anonymous ? null : await deps.tokens.accessToken();
    let res = await send(method, path, opts, token);
    if (res.status === 401 && !opts.anonymous && token !== null && (await deps.tokens.renew())) {
      token = await deps.tokens.accessToken();
      res = await send(method, path, opts, token);
    }
    const text = await res.text();
    let body: unknown = undefined;
    if (opts.text && res.ok) return text as T;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!res.ok) {
      const e = (body as { error?: { code?: string; message?: string; details?: unknown; correlation_id?: string } } | undefined)?.error;
      throw new ApiError(
        res.status,
        e?.code ?? `http_${res.status}`,
        e?.message ?? '',
        e?.details,
        e?.correlation_id,
        `${method} ${API_BASE}${path.replace(/\?.*$/, '')}`,
      );
    }
    return body as T;
  }

  return {
    request,
    get: (path, opts) => request('GET', path, opts),
    post: (path, body, opts) => request('POST', path, { ...opts, body }),
    put: (path, body, opts) => request('PUT', path, { ...opts, body }),
    delete: (path, opts) => request('DELETE', path, opts),
  };
}
