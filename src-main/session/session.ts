// One signed-in session with one AMS: holds the access token in memory, refreshes it before
// it expires (the refresh token rotates on every use), and keeps the refresh token where the
// mode says: the OS keychain for attach profiles, memory only for the bundled AMS (whose
// host-session secret changes on every launch). The renderer only ever sees access tokens.
import type { BridgeError, SessionState } from '../../src-preload/console-api.js';
import { errors } from '../errors.js';
import { AuthError, type AuthClient, type TokenResponse } from './auth-client.js';

/** Where a session keeps its refresh token between uses. */
export interface RefreshTokenStore {
  get(): Promise<string | null>;
  set(token: string): Promise<void>;
  delete(): Promise<boolean>;
}

export function memoryTokenStore(): RefreshTokenStore {
  let token: string | null = null;
  return {
    get: async () => token,
    set: async (t) => void (token = t),
    delete: async () => {
      const had = token !== null;
      token = null;
      return had;
    },
  };
}

/** When to refresh an access token that lives `expiresInS` seconds: a fifth of its life early, at most a minute, at least after one second. */
export function refreshDelayMs(expiresInS: number): number {
  const lifeMs = expiresInS * 1000;
  return Math.max(1000, lifeMs - Math.min(60_000, lifeMs * 0.2));
}

export interface SessionOptions {
  auth: AuthClient;
  tokens: RefreshTokenStore;
  /** Host mode: how to get a session without a refresh token (the host-session call). */
  obtain?: () => Promise<TokenResponse>;
  /** The user name to show before the AMS says who we are. */
  username?: string | null;
  now?: () => number;
  /** Timer used to schedule refreshes (injected so tests can run them by hand). */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Delay before retrying a refresh the AMS did not answer, or refused for now without a Retry-After. */
  offlineRetryMs?: number;
}

export interface Session {
  state(): SessionState;
  onChange(listener: (state: SessionState) => void): () => void;
  /** Attach mode: logs in and keeps the refresh token. */
  login(username: string, password: string): Promise<SessionState>;
  /** Signs in without asking: the stored refresh token, or `obtain` (host mode). */
  resume(): Promise<SessionState>;
  /** A valid access token (refreshing first when needed), or null when signed out. */
  accessToken(): Promise<string | null>;
  /** Logs out at the AMS (best effort) and forgets the refresh token. */
  logout(): Promise<SessionState>;
  /** Stops timers; the stored refresh token stays. */
  dispose(): void;
}

const defaultSchedule = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

export function createSession(opts: SessionOptions): Session {
  const now = opts.now ?? Date.now;
  const schedule = opts.schedule ?? defaultSchedule;
  const listeners = new Set<(s: SessionState) => void>();
  let state: SessionState = { status: 'signed-out', username: opts.username ?? null, expiresAt: null, error: null };
  let access: string | null = null;
  // The newest refresh token, so a store that failed to persist does not break rotation.
  let latestRefresh: string | null = null;
  let cancelTimer: (() => void) | null = null;
  let inFlight: Promise<void> | null = null;
  let disposed = false;
  // Bumped by logout/login so a refresh that was already running cannot resurrect an old session.
  let epoch = 0;

  const setState = (patch: Partial<SessionState>) => {
    state = { ...state, ...patch };
    const snapshot = { ...state };
    for (const l of listeners) l(snapshot);
  };
  const asBridgeError = (err: unknown): BridgeError =>
    err instanceof AuthError || (err as { code?: unknown })?.code !== undefined
      ? { code: String((err as { code: unknown }).code), message: (err as Error).message }
      : { code: 'internal', message: (err as Error)?.message ?? String(err) };
  const clearTimer = () => {
    cancelTimer?.();
    cancelTimer = null;
  };
  const scheduleIn = (ms: number) => {
    clearTimer();
    if (!disposed) cancelTimer = schedule(() => void refresh().catch(() => undefined), ms);
  };

  /** Takes a token response: keep the refresh token first, then use the access token. */
  async function adopt(t: TokenResponse, myEpoch: number): Promise<void> {
    if (myEpoch !== epoch) return;
    let storeError: BridgeError | null = null;
    try {
      await opts.tokens.set(t.refresh_token);
    } catch (err) {
      // Still signed in for this run; the next launch will ask for a login again.
      storeError = asBridgeError(err);
    }
    if (myEpoch !== epoch) return;
    latestRefresh = t.refresh_token;
    access = t.access_token;
    setState({ status: 'signed-in', expiresAt: now() + t.expires_in * 1000, error: storeError });
    scheduleIn(refreshDelayMs(t.expires_in));
  }
  async function signOutLocally(status: 'signed-out' | 'expired', error: BridgeError | null): Promise<void> {
    clearTimer();
    access = null;
    latestRefresh = null;
    await opts.tokens.delete().catch(() => false);
    setState({ status, expiresAt: null, error });
  }

  async function refreshOnce(): Promise<void> {
    const myEpoch = epoch;
    const stored = latestRefresh ?? (await opts.tokens.get());
    if (!stored && !opts.obtain) {
      if (myEpoch === epoch) await signOutLocally(state.status === 'signed-in' ? 'expired' : 'signed-out', null);
      return;
    }
    try {
      if (stored) {
        try {
          await adopt(await opts.auth.refresh(stored), myEpoch);
          return;
        } catch (err) {
          // Refused (expired, revoked or reused, 4xx other than 429): this refresh token is dead.
          if (!(err instanceof AuthError) || err.transient || err.status === null || err.status < 400 || err.status >= 500) throw err;
          if (myEpoch !== epoch) return;
          latestRefresh = null;
          await opts.tokens.delete().catch(() => false);
          if (!opts.obtain) {
            const message =
              err.code === 'refresh_token_reused'
                ? 'The session was ended because its refresh token was used elsewhere; log in again'
                : 'The session has expired; log in again';
            await signOutLocally('expired', { code: 'session_expired', message });
            return;
          }
        }
      }
      await adopt(await opts.obtain!(), myEpoch);
    } catch (err) {
      if (myEpoch !== epoch) return;
      if (err instanceof AuthError && err.transient) {
        // No answer, rate limited or failing: keep the refresh token (the access token may
        // still be good for a while) and try again when the AMS says, or after a pause.
        setState({ status: access && state.expiresAt! > now() ? 'signed-in' : 'offline', error: asBridgeError(err) });
        scheduleIn(err.retryAfterMs ?? opts.offlineRetryMs ?? 10_000);
        throw err;
      }
      setState({ error: asBridgeError(err) });
      throw err;
    }
  }

  /** Single flight: concurrent callers share one refresh (a second use of the same refresh token would be refused). */
  function refresh(): Promise<void> {
    inFlight ??= refreshOnce().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  return {
    state: () => ({ ...state }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async login(username, password) {
      if (opts.obtain) throw errors.notAttachMode();
      const myEpoch = ++epoch;
      setState({ status: 'signing-in', username, error: null });
      try {
        const t = await opts.auth.login(username, password);
        await adopt(t, myEpoch);
      } catch (err) {
        if (myEpoch === epoch) setState({ status: 'signed-out', expiresAt: null, error: asBridgeError(err) });
        throw err;
      }
      return { ...state };
    },

    async resume() {
      if (state.status === 'signed-in' && access) return { ...state };
      setState({ status: 'signing-in', error: null });
      try {
        await refresh();
      } catch (err) {
        if (state.status === 'signing-in') setState({ status: 'signed-out', error: asBridgeError(err) });
      }
      if (state.status === 'signing-in') setState({ status: 'signed-out' });
      return { ...state };
    },

    async accessToken() {
      if (inFlight) await inFlight.catch(() => undefined);
      if (access && state.expiresAt !== null && state.expiresAt - now() > 5_000) return access;
      if (state.status === 'signed-out' || state.status === 'expired') {
        if (!opts.obtain) return null;
      }
      try {
        await refresh();
      } catch (err) {
        // Offline but the token has not expired yet: still usable.
        if (access && state.expiresAt !== null && state.expiresAt > now()) return access;
        throw err;
      }
      return state.status === 'signed-in' ? access : null;
    },

    async logout() {
      epoch += 1;
      const token = latestRefresh ?? (await opts.tokens.get().catch(() => null));
      const current = access;
      clearTimer();
      // The access token goes along so the AMS revokes it at once, not when it expires.
      if (token) await opts.auth.logout(token, current).catch(() => undefined);
      await signOutLocally('signed-out', null);
      return { ...state };
    },

    dispose() {
      disposed = true;
      epoch += 1;
      clearTimer();
      listeners.clear();
    },
  };
}
