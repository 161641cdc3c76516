// Wires the console together: the session (browser login or the desktop bridge), the one API
// client, the store, the live stream and the event intake. Nothing runs until start().
import { createAmsClient, type AmsClient } from './api/client';
import { createHttpClient } from './api/http';
import { createBrowserSession, createDesktopSession, type ConsoleSession, type SessionView } from './api/session';
import { createEventStream, type EventStream } from './api/stream';
import type { LiveEvent } from './api/types';
import type { OpmasApi } from './desktop-bridge';
import { desktopNotice } from './store/desktop-notice';
import { createEventIntake, type EventIntake } from './store/event-intake';
import { createConsoleStore, type ConsoleStore } from './store/store';
import { emptyFleet } from './store/fleet-slice';
import { healthCounts } from './features/dashboard/fleet-view';

export interface Console {
  client: AmsClient;
  session: ConsoleSession;
  store: ConsoleStore;
  stream: EventStream;
  intake: EventIntake;
  start(): Promise<void>;
  stop(): void;
}

export interface ConsoleDeps {
  bridge?: OpmasApi;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  /** Quiet re-list of the fleet (heartbeat times, agents added elsewhere). */
  fleetRefreshMs?: number;
  healthRefreshMs?: number;
}

export function createConsole(deps: ConsoleDeps = {}): Console {
  const session = deps.bridge ? createDesktopSession(deps.bridge) : createBrowserSession({ fetch: deps.fetch });
  // The HTTP client reports reachability into the store it is itself a dependency of.
  const reachability = { report: (_ok: boolean) => undefined as void };
  const http = createHttpClient({ tokens: session, fetch: deps.fetch, onReachability: (ok) => reachability.report(ok) });
  const client = createAmsClient(http);
  const s = createConsoleStore({ client, session, bridge: deps.bridge });
  reachability.report = (ok) => s.getState().setReachable(ok);
  const intake = createEventIntake({ store: s });
  const stream = createEventStream({
    url: () => session.streamUrl(),
    token: () => session.accessToken(),
    renew: () => session.renew(),
    WebSocket: deps.WebSocket,
    onEvent: (e) => {
      intake.push(e);
      notifyDesktop(e);
    },
    onResync: () => {
      intake.resync();
      void s.getState().loadFleet({ quiet: true });
      if (s.getState().can('alerts:read')) void s.getState().loadAlerts();
    },
    onStatus: (status) => s.getState().setStream(status),
  });

  const timers: Array<ReturnType<typeof setInterval>> = [];
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  const unsubscribers: Array<() => void> = [];
  let signedInTo: string | null = null;

  function notifyDesktop(e: LiveEvent) {
    const notice = deps.bridge ? desktopNotice(e) : null;
    if (notice) void deps.bridge!.notifications.alert(notice);
  }

  /** Back from an outage: every view reloads what it shows (it may have missed events), quietly. */
  function watchLink() {
    unsubscribers.push(
      s.subscribe((state, prev) => {
        if (state.link.state !== 'up' || prev.link.state === 'up' || state.session.status !== 'signed-in') return;
        intake.resync();
        void state.loadFleet({ quiet: true });
        void state.loadHealth();
        if (state.can('alerts:read')) {
          void state.loadAlerts();
          if (state.silences.status !== 'idle') void state.loadSilences();
        }
        if (state.packages.status !== 'idle') void state.loadPackages({ quiet: true });
        if (state.audit.status !== 'idle') void state.loadAudit();
      }),
    );
  }

  async function onSignedIn() {
    const st = s.getState();
    await st.loadMe();
    void st.loadFleet();
    if (s.getState().can('alerts:read')) void st.loadAlerts();
    stream.restart();
  }

  function onSession(view: SessionView) {
    s.getState().setSession(view);
    // Signed in to a different AMS or profile (desktop switch): start over.
    const key = view.status === 'signed-in' ? `${view.desktop?.profile?.id ?? 'web'}@${view.desktop?.amsUrl ?? ''}:${view.username ?? ''}` : null;
    if (key === signedInTo) return;
    signedInTo = key;
    if (key) {
      s.setState({ fleet: emptyFleet() });
      s.getState().samples.book.clear();
      void onSignedIn();
    } else stream.stop();
  }

  function reportFleetHealth() {
    if (!deps.bridge) return;
    let last = '';
    let timer: ReturnType<typeof setTimeout> | null = null;
    const send = () => {
      timer = null;
      const counts = healthCounts(s.getState().fleet.agents.values());
      const key = JSON.stringify(counts);
      if (key === last) return;
      last = key;
      void deps.bridge!.fleet.reportHealth(counts);
    };
    unsubscribers.push(
      s.subscribe((state, prev) => {
        if (state.fleet.revision !== prev.fleet.revision && !timer) timer = setTimeout(send, 1000);
      }),
    );
  }

  return {
    client,
    session,
    store: s,
    stream,
    intake,
    async start() {
      running = true;
      unsubscribers.push(session.subscribe(onSession));
      reportFleetHealth();
      watchLink();
      void s.getState().loadHealth();
      timers.push(setInterval(() => void s.getState().loadHealth(), deps.healthRefreshMs ?? 15_000));
      // Heartbeats are not events: a quiet re-list keeps "last heartbeat" current, every 5 s for a
      // small fleet and less often for a large one (1.5 s per page of 500, at most 30 s).
      const refresh = () => {
        const size = s.getState().fleet.agents.size;
        const every = deps.fleetRefreshMs ?? Math.min(30_000, Math.max(5_000, Math.ceil(size / 500) * 1_500));
        refreshTimer = setTimeout(async () => {
          if (s.getState().session.status === 'signed-in' && s.getState().fleet.status === 'ready') await s.getState().loadFleet({ quiet: true });
          if (running) refresh();
        }, every);
      };
      refresh();
      await session.init();
      onSession(session.view());
    },
    stop() {
      stream.stop();
      running = false;
      clearTimeout(refreshTimer);
      for (const t of timers) clearInterval(t);
      for (const u of unsubscribers) u();
    },
  };
}
