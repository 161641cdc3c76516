// The AMS's live event stream (WS /api/v1/agents/ws): connects with the bearer token as a
// subprotocol, reconnects with backoff, asks for what it missed with ?last_event_id=N, drops
// duplicates, and says when the AMS can no longer replay (resync: reload from the API).
import type { LiveEvent } from './types';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface StreamStatus {
  state: StreamState;
  /** Consecutive failed attempts since the stream was last live. */
  attempt: number;
  /** When the next attempt is due (epoch ms), while reconnecting or offline. */
  retryAt: number | null;
  /** Why the last connection ended, in a few words. */
  reason: string | null;
}

type Timer = ReturnType<typeof setTimeout>;

export interface EventStreamDeps {
  url(): Promise<string | null>;
  token(): Promise<string | null>;
  onEvent(event: LiveEvent): void;
  /** The AMS no longer holds the events since our last id: reload state from the API. */
  onResync(): void;
  onStatus(status: StreamStatus): void;
  /** The AMS refused the token (close 4401): renew the session before the next attempt. */
  renew?(): Promise<unknown>;
  WebSocket?: typeof WebSocket;
  now?: () => number;
  setTimeout?: (fn: () => void, ms: number) => Timer;
  clearTimeout?: (t: Timer) => void;
  /** Attempts after which the stream is reported offline rather than reconnecting. */
  offlineAfter?: number;
}

export const STREAM_PROTOCOL = 'opmas.v1';
/** Close code the AMS uses for a missing, invalid, expired or revoked token. */
export const CLOSE_UNAUTHENTICATED = 4401;

/** Delay before reconnect attempt n (1-based): 0.5 s doubling to 15 s, with ±20 % jitter. */
export function reconnectDelayMs(attempt: number, random = Math.random): number {
  const base = Math.min(500 * 2 ** Math.max(0, attempt - 1), 15_000);
  return Math.round(base * (0.8 + random() * 0.4));
}

export function streamUrlWith(url: string, lastEventId: number | null): string {
  if (lastEventId === null) return url;
  return `${url}${url.includes('?') ? '&' : '?'}last_event_id=${lastEventId}`;
}

export interface EventStream {
  start(): void;
  stop(): void;
  /** Drops the connection and connects again now (after a sign-in or a profile switch). */
  restart(): void;
  lastEventId(): number | null;
}

export function createEventStream(deps: EventStreamDeps): EventStream {
  const WS = deps.WebSocket ?? globalThis.WebSocket;
  const now = deps.now ?? Date.now;
  const later = deps.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
  const cancel = deps.clearTimeout ?? ((t) => clearTimeout(t));
  const offlineAfter = deps.offlineAfter ?? 3;
  let socket: WebSocket | null = null;
  let timer: Timer | null = null;
  let running = false;
  let lastId: number | null = null;
  let status: StreamStatus = { state: 'connecting', attempt: 0, retryAt: null, reason: null };
  let generation = 0;

  const report = (next: Partial<StreamStatus>) => {
    status = { ...status, ...next };
    deps.onStatus(status);
  };

  function scheduleReconnect(reason: string) {
    if (!running) return;
    const attempt = status.attempt + 1;
    const delay = reconnectDelayMs(attempt);
    report({ state: attempt >= offlineAfter ? 'offline' : 'reconnecting', attempt, retryAt: now() + delay, reason });
    timer = later(() => {
      timer = null;
      void connect();
    }, delay);
  }

  function handle(raw: unknown) {
    let msg: { type?: string; id?: number; last_event_id?: number };
    try {
      msg = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (msg.type === 'hello') {
      if (lastId === null && typeof msg.last_event_id === 'number') lastId = msg.last_event_id;
      report({ state: 'live', attempt: 0, retryAt: null, reason: null });
      return;
    }
    if (msg.type === 'resync') {
      lastId = typeof msg.last_event_id === 'number' ? msg.last_event_id : null;
      deps.onResync();
      return;
    }
    if (typeof msg.id !== 'number' || typeof msg.type !== 'string') return;
    if (lastId !== null && msg.id <= lastId) return; // replayed twice across a reconnect
    lastId = msg.id;
    deps.onEvent(msg as LiveEvent);
  }

  async function connect() {
    const mine = ++generation;
    if (status.attempt === 0 && status.state !== 'live') report({ state: status.state === 'connecting' ? 'connecting' : 'reconnecting' });
    let url: string | null;
    let token: string | null;
    try {
      [url, token] = await Promise.all([deps.url(), deps.token()]);
    } catch {
      url = null;
      token = null;
    }
    if (!running || mine !== generation) return;
    if (!url || !token) return scheduleReconnect(url ? 'not signed in' : 'no AMS connected');
    let ws: WebSocket;
    try {
      ws = new WS(streamUrlWith(url, lastId), [STREAM_PROTOCOL, `bearer.${token}`]);
    } catch {
      return scheduleReconnect('could not open the stream');
    }
    socket = ws;
    ws.onmessage = (e) => mine === generation && handle(e.data);
    ws.onclose = (e) => {
      if (mine !== generation) return;
      socket = null;
      const wasLive = status.state === 'live';
      const reason = e.code === 1000 ? 'closed by the AMS' : e.reason ? e.reason.split(':')[0].replace(/_/g, ' ') : wasLive ? 'live stream dropped' : 'live stream unavailable';
      if (e.code === CLOSE_UNAUTHENTICATED && deps.renew) void deps.renew().catch(() => undefined);
      // A token that expired while connected is routine: reconnect at once with a fresh one.
      if (wasLive && e.code === CLOSE_UNAUTHENTICATED && /token_expired/.test(e.reason)) {
        report({ state: 'reconnecting', attempt: 0, retryAt: null, reason });
        timer = later(() => {
          timer = null;
          void connect();
        }, 0);
        return;
      }
      scheduleReconnect(reason);
    };
    ws.onerror = () => undefined; // onclose follows and decides
  }

  function drop() {
    generation++;
    if (timer) cancel(timer);
    timer = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close(1000);
      socket = null;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      void connect();
    },
    stop() {
      running = false;
      drop();
    },
    restart() {
      drop();
      running = true;
      report({ state: 'connecting', attempt: 0, retryAt: null, reason: null });
      void connect();
    },
    lastEventId: () => lastId,
  };
}
