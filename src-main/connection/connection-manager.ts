// The active connection: which profile is in use, the bundled AMS when that profile hosts it,
// which of an attach profile's AMS URLs is in use (failing over when it stops answering), and
// the session with that AMS. Switching profiles stops or starts the bundled AMS as needed and
// remembers the choice; every change is pushed to listeners (the renderer via IPC).
import type { ConnectionInfo, Profile, ProfileList, SessionState } from '../../src-preload/console-api.js';
import { profileTokenStore, type CredentialStore } from '../credentials/credential-store.js';
import { errors } from '../errors.js';
import type { HostLauncher } from '../host/host-launcher.js';
import { profileUrls, selectStartup, type ProfileStore, type StartupChoice } from '../profiles/profile-store.js';
import { createAuthClient, type AuthClient } from '../session/auth-client.js';
import { createFailoverAuthClient } from '../session/failover-auth.js';
import { createEndpoints, probeAms, type Endpoints, type Unreachable } from './endpoints.js';
import { createSession, memoryTokenStore, type Session, type SessionOptions } from '../session/session.js';

export interface ConnectionManagerDeps {
  profiles: ProfileStore;
  credentials: CredentialStore;
  /** The bundled AMS's launcher (one per app: one data dir). */
  host: HostLauncher;
  /** The secret the launcher passed to the bundled AMS, for the host-session call. */
  hostSecret: string;
  authClient?: (baseUrl: string | (() => string | null)) => AuthClient;
  /** Clock and timer for sessions (tests); the clock also stamps failovers. */
  sessionOptions?: Pick<SessionOptions, 'now' | 'schedule'>;
  /** Told about background failures (never with secrets). */
  onError?: (what: string, err: unknown) => void;
  /** Whether an AMS answers at a URL (default: GET /api/v1/health); null when it does. */
  probe?: (baseUrl: string) => Promise<Unreachable | null>;
}

export interface ConnectionManager {
  info(): ConnectionInfo;
  onChange(listener: (info: ConnectionInfo) => void): () => void;
  /** At launch: opens the remembered profile, or says what the renderer should show. */
  openStartup(): Promise<StartupChoice>;
  /** Makes a profile active and remembers it. Host mode starts the bundled AMS in the background (watch onChange). */
  activate(profileId: string): Promise<ConnectionInfo>;
  login(username: string, password: string): Promise<SessionState>;
  logout(): Promise<SessionState>;
  accessToken(): Promise<string | null>;
  hasCredential(profileId: string): Promise<boolean>;
  forgetCredential(profileId: string): Promise<boolean>;
  /**
   * `url` did not answer (the API proxy, the live stream): when it is the active attach profile's
   * URL in use and the profile has another, moves to the next one; answers whether it moved.
   */
  reportUnreachable(url: string, reason: string): boolean;
  /**
   * The live stream to `url` dropped and did not come back after `attempts` tries. A browser
   * cannot tell a refused WebSocket handshake from a dead host, so the URL is asked over HTTP
   * first: it is left only when it does not answer there either (an AMS that answers is alive,
   * and every replica would refuse the stream alike). Answers whether the connection moved.
   */
  streamDown(url: string, attempts: number): Promise<boolean>;
  /** Removes a profile: leaves it first when active, deletes its stored refresh token. */
  removeProfile(profileId: string): Promise<ProfileList>;
  /** Leaves the active profile and stops the bundled AMS (app quit). */
  shutdown(): Promise<void>;
}

const SIGNED_OUT: SessionState = { status: 'signed-out', username: null, expiresAt: null, error: null };

export function createConnectionManager(deps: ConnectionManagerDeps): ConnectionManager {
  const authClient = deps.authClient ?? ((baseUrl) => createAuthClient({ baseUrl }));
  const listeners = new Set<(info: ConnectionInfo) => void>();
  let active: Profile | null = null;
  let endpoints: Endpoints | null = null;
  let session: Session | null = null;
  let unsubscribeSession: (() => void) | null = null;
  // Serializes activate/remove/shutdown so two switches never interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const info = (): ConnectionInfo => {
    const host = active?.mode === 'host' ? deps.host.state() : null;
    return {
      profile: active ? { ...active } : null,
      amsUrl: active?.mode === 'host' ? (host?.url ?? null) : (endpoints?.current() ?? null),
      host,
      attach: active?.mode === 'attach' && endpoints ? endpoints.state() : null,
      session: session?.state() ?? SIGNED_OUT,
    };
  };
  const emit = () => {
    const snapshot = info();
    for (const l of listeners) l(snapshot);
  };

  // The bundled AMS's state changes are connection changes while a host profile is active;
  // each time it (re)starts, the host session is re-established with the same secret.
  deps.host.onState((state) => {
    if (active?.mode !== 'host') return;
    emit();
    if (state.status === 'running' && session && session.state().status !== 'signed-in') {
      void session.resume().catch((err) => deps.onError?.('host session', err));
    }
  });

  function useSession(s: Session | null): void {
    unsubscribeSession?.();
    session?.dispose();
    session = s;
    unsubscribeSession = s ? s.onChange(() => emit()) : null;
  }

  async function leave(next: Profile | null): Promise<void> {
    const previous = active;
    useSession(null);
    active = null;
    endpoints = null;
    if (previous?.mode === 'host' && next?.mode !== 'host') await deps.host.stop();
  }

  async function enter(profile: Profile): Promise<void> {
    active = profile;
    deps.profiles.setLastUsed(profile.id);
    if (profile.mode === 'host') {
      const auth = authClient(() => deps.host.state().url);
      const hostSession = createSession({ ...deps.sessionOptions, auth, tokens: memoryTokenStore(), obtain: () => auth.hostSession(deps.hostSecret) });
      useSession(hostSession);
      emit();
      // Not awaited: the first start creates the database and takes a few seconds; onChange reports progress.
      // An AMS that is already running (the host profile re-entered after an edit) reports no state
      // change, so the session also signs in once start() resolves.
      deps.host
        .start()
        .then(() => (session === hostSession && hostSession.state().status !== 'signed-in' ? hostSession.resume() : undefined))
        .catch((err) => deps.onError?.('bundled AMS', err));
      return;
    }
    // Every activation starts on the profile's first URL.
    const mine = createEndpoints(profileUrls(profile), { now: deps.sessionOptions?.now });
    endpoints = mine;
    mine.onChange(() => endpoints === mine && emit());
    useSession(
      createSession({
        ...deps.sessionOptions,
        auth: createFailoverAuthClient(mine, (url) => authClient(url)),
        tokens: profileTokenStore(deps.credentials, profile.id),
        username: profile.username ?? null,
      }),
    );
    emit();
    await session!.resume();
  }

  const requireAttach = (): { profile: Profile; session: Session } => {
    if (!active || !session) throw errors.noActiveProfile();
    if (active.mode !== 'attach') throw errors.notAttachMode();
    return { profile: active, session };
  };

  const manager: ConnectionManager = {
    info,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async openStartup() {
      const choice = selectStartup(deps.profiles.list());
      if (choice.kind === 'open') await manager.activate(choice.profile.id);
      return choice;
    },

    activate(profileId) {
      return serialized(async () => {
        const profile = deps.profiles.get(profileId);
        if (active?.id === profile.id && JSON.stringify(active) === JSON.stringify(profile)) return info();
        await leave(profile);
        await enter(profile);
        emit();
        return info();
      });
    },

    async login(username, password) {
      const { profile, session: s } = requireAttach();
      const state = await s.login(username, password);
      if (profile.username !== username) active = deps.profiles.update(profile.id, { username });
      emit();
      return state;
    },

    async logout() {
      if (!session) throw errors.noActiveProfile();
      return session.logout();
    },

    async accessToken() {
      return session ? session.accessToken() : null;
    },

    reportUnreachable(url, reason) {
      return active?.mode === 'attach' && endpoints !== null ? endpoints.fail(url, reason) : false;
    },

    async streamDown(url, attempts) {
      const mine = endpoints;
      if (active?.mode !== 'attach' || !mine || mine.state().urls.length < 2 || mine.current() !== url) return false;
      const why = await (deps.probe ?? probeAms)(url);
      if (!why || endpoints !== mine) return false;
      return mine.fail(url, `its live stream dropped and did not come back after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}, and it ${why.reason}`);
    },

    async hasCredential(profileId) {
      deps.profiles.get(profileId);
      return (await deps.credentials.get(profileId)) !== null;
    },

    async forgetCredential(profileId) {
      deps.profiles.get(profileId);
      if (active?.id === profileId && active.mode === 'attach' && session) {
        const had = (await deps.credentials.get(profileId)) !== null;
        await session.logout();
        return had;
      }
      return deps.credentials.delete(profileId);
    },

    removeProfile(profileId) {
      return serialized(async () => {
        const profile = deps.profiles.get(profileId);
        if (active?.id === profileId) {
          await leave(null);
          emit();
        }
        if (profile.mode === 'attach') await deps.credentials.delete(profileId);
        return deps.profiles.remove(profileId);
      });
    },

    shutdown() {
      return serialized(async () => {
        useSession(null);
        active = null;
        endpoints = null;
        await deps.host.stop();
      });
    },
  };
  return manager;
}
