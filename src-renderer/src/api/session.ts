// Who the console is signed in as, and where its tokens come from. In a browser the console
// signs in with the login form (or the first-run setup token) and keeps the refresh token in
// this tab's sessionStorage; in the desktop app the main process owns the session and the
// console only asks the bridge for an access token.
import type { ConnectionInfo, OpmasApi } from '../desktop-bridge';
import { ApiError, NetworkError } from './errors';
import { API_BASE, type TokenSource } from './http';
import type { StreamStatus } from './stream';
import { createStreamWatch } from './stream-watch';
import type { TokenPair } from './types';

export type SessionStatus = 'checking' | 'signed-out' | 'signed-in' | 'needs-profile' | 'host-waiting';

export interface SessionView {
  status: SessionStatus;
  username: string | null;
  /** Why the console is signed out, or what the bundled AMS is doing. */
  message: string | null;
  /** The desktop app's connection info; null in a browser. */
  desktop: ConnectionInfo | null;
}

export interface ConsoleSession extends TokenSource {
  readonly kind: 'browser' | 'desktop';
  view(): SessionView;
  subscribe(listener: (view: SessionView) => void): () => void;
  init(): Promise<void>;
  login(username: string, password: string): Promise<void>;
  /** Browser first run: create the first admin with the setup token the AMS printed. */
  setup(token: string, username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  /** ws(s):// URL of the live stream, or null while no AMS is known. */
  streamUrl(): Promise<string | null>;
  /** The live stream's status (desktop: a stream that does not come back makes an attach profile fail over). */
  streamStatus?(status: StreamStatus): void;
}

function listeners<T>() {
  const set = new Set<(v: T) => void>();
  return {
    add(l: (v: T) => void) {
      set.add(l);
      return () => void set.delete(l);
    },
    emit(v: T) {
      for (const l of set) l(v);
    },
  };
}

const STORAGE_KEY = 'opmas.session';
/** Renew this long before the access token expires, so a request never carries a stale one. */
const RENEW_MARGIN_MS = 30_000;

export interface BrowserSessionDeps {
  fetch?: typeof fetch;
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  location?: Pick<Location, 'protocol' | 'host'>;
  now?: () => number;
}

export function createBrowserSession(deps: BrowserSessionDeps = {}): ConsoleSession {
  const doFetch = deps.fetch ?? ((i: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(i, init));
  const storage = deps.storage === undefined ? globalThis.sessionStorage : deps.storage;
  const now = deps.now ?? Date.now;
  const changes = listeners<SessionView>();
  let view: SessionView = { status: 'checking', username: null, message: null, desktop: null };
  let access: { token: string; expiresAt: number } | null = null;
  let refreshToken: string | null = null;
  let refreshing: Promise<boolean> | null = null;

  const set = (next: Partial<SessionView>) => {
    view = { ...view, ...next };
    changes.emit(view);
  };

  function remember(pair: TokenPair, username: string) {
    access = { token: pair.access_token, expiresAt: now() + pair.expires_in * 1000 };
    refreshToken = pair.refresh_token;
    storage?.setItem(STORAGE_KEY, JSON.stringify({ refresh_token: pair.refresh_token, username }));
  }

  function forget(message: string | null) {
    access = null;
    refreshToken = null;
    storage?.removeItem(STORAGE_KEY);
    set({ status: 'signed-out', username: null, message });
  }

  async function post<T>(path: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(`${API_BASE}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) });
    } catch (err) {
      throw new NetworkError(`POST ${API_BASE}${path}`, err);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (parsed as { error?: { code: string; message: string; details?: unknown; correlation_id?: string } })?.error;
      throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `answered ${res.status}`, e?.details, e?.correlation_id, `POST ${API_BASE}${path}`);
    }
    return parsed as T;
  }

  /** Rotates the refresh token; one at a time, since a refresh token works only once. */
  function refresh(): Promise<boolean> {
    refreshing ??= (async () => {
      if (!refreshToken) return false;
      try {
        const pair = await post<TokenPair>('/auth/refresh', { refresh_token: refreshToken });
        remember(pair, view.username ?? '');
        if (view.status !== 'signed-in') set({ status: 'signed-in', message: null });
        return true;
      } catch (err) {
        // The AMS being unreachable does not end the session; a refused token does.
        if (err instanceof NetworkError) return false;
        forget('Your session has ended; sign in again.');
        return false;
      }
    })().finally(() => (refreshing = null));
    return refreshing;
  }

  return {
    kind: 'browser',
    view: () => view,
    subscribe: (l) => changes.add(l),
    async init() {
      const saved = storage?.getItem(STORAGE_KEY);
      if (!saved) return set({ status: 'signed-out', message: null });
      try {
        const parsed = JSON.parse(saved) as { refresh_token?: string; username?: string };
        refreshToken = parsed.refresh_token ?? null;
        view = { ...view, username: parsed.username ?? null };
      } catch {
        refreshToken = null;
      }
      if (!(await refresh()) && view.status === 'checking') set({ status: 'signed-out', message: refreshToken ? 'The AMS did not answer; sign in when it is back.' : null });
    },
    async accessToken() {
      if (!access) return null;
      if (access.expiresAt - now() < RENEW_MARGIN_MS) await refresh();
      return access?.token ?? null;
    },
    renew: () => refresh(),
    async login(username, password) {
      const pair = await post<TokenPair>('/auth/login', { username, password });
      remember(pair, username);
      set({ status: 'signed-in', username, message: null });
    },
    async setup(token, username, password) {
      const pair = await post<TokenPair>('/auth/setup', { token, username, password });
      remember(pair, username);
      set({ status: 'signed-in', username, message: null });
    },
    async logout() {
      const token = access?.token;
      const body = refreshToken ? { refresh_token: refreshToken } : {};
      forget(null);
      await doFetch(`${API_BASE}/auth/logout`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      }).catch(() => undefined);
    },
    async streamUrl() {
      const loc = deps.location ?? globalThis.location;
      return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${API_BASE}/agents/ws`;
    },
  };
}

/** Throws the bridge's error value as an Error with its code, so views explain it like an API error. */
export class BridgeFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'BridgeFailure';
  }
}

async function unwrap<T>(result: Promise<{ ok: true; value: T } | { ok: false; error: { code: string; message: string } }>): Promise<T> {
  const r = await result;
  if (!r.ok) throw new BridgeFailure(r.error.code, r.error.message);
  return r.value;
}

export function desktopSessionView(info: ConnectionInfo): SessionView {
  const base = { desktop: info, username: info.session.username };
  if (!info.profile) return { ...base, status: 'needs-profile', message: null };
  if (info.profile.mode === 'host' && info.host && info.host.status !== 'running') {
    const what = ({ starting: 'The bundled AMS is starting…', restarting: 'The bundled AMS stopped and is being restarted…', stopped: 'The bundled AMS is stopped.', failed: 'The bundled AMS failed.' } as const)[info.host.status as 'starting' | 'restarting' | 'stopped' | 'failed'];
    return { ...base, status: 'host-waiting', message: info.host.lastError ? `${what} ${info.host.lastError}` : what };
  }
  if (info.session.status === 'signed-in') return { ...base, status: 'signed-in', message: null };
  if (info.session.status === 'signing-in') return { ...base, status: 'checking', message: null };
  return { ...base, status: 'signed-out', message: info.session.error?.message ?? (info.session.status === 'expired' ? 'Your session has ended; sign in again.' : null) };
}

export function createDesktopSession(bridge: OpmasApi): ConsoleSession {
  const changes = listeners<SessionView>();
  let view: SessionView = { status: 'checking', username: null, message: null, desktop: null };
  const watch = createStreamWatch();
  const apply = (info: ConnectionInfo) => {
    view = desktopSessionView(info);
    changes.emit(view);
  };
  return {
    kind: 'desktop',
    view: () => view,
    subscribe: (l) => changes.add(l),
    async init() {
      bridge.connection.onChange(apply);
      apply(await unwrap(bridge.connection.info()));
    },
    accessToken: () => unwrap(bridge.connection.accessToken()).catch(() => null),
    async renew() {
      const token = await unwrap(bridge.connection.accessToken()).catch(() => null);
      return token !== null;
    },
    async login(username, password) {
      await unwrap(bridge.credentials.login(username, password));
      apply(await unwrap(bridge.connection.info()));
    },
    async setup() {
      throw new BridgeFailure('unsupported', 'The desktop app signs in through its connection profile, not a setup token.');
    },
    async logout() {
      await unwrap(bridge.credentials.logout());
      apply(await unwrap(bridge.connection.info()));
    },
    async streamUrl() {
      const url = view.desktop?.amsUrl;
      if (!url) return null;
      watch.connecting(url);
      return `${url.replace(/^http/, 'ws')}${API_BASE}/agents/ws`;
    },
    streamStatus(status) {
      const down = watch.status(status);
      // The main process moves only off the URL in use, and only when the profile has another.
      if (down) void bridge.connection.reportStreamDown(down.url, down.attempts).catch(() => undefined);
    },
  };
}

export { unwrap as unwrapBridge };
