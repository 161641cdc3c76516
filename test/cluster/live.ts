// A client of the live event stream (WS /api/v1/agents/ws) for the cluster scenarios: it keeps
// every state event it was sent, and when its replica goes away it reconnects to the next one with
// `last_event_id`, as the console does through a load balancer. Samples and log lines are
// best-effort by design and left out (the `types` filter), so what it holds is comparable with
// the status history.
import WebSocket from 'ws';
import { eventually } from '../helpers/wait.js';

export const STATE_TYPES = ['status.', 'health.', 'recovery.', 'config.', 'alert.', 'package.', 'host.'];

export interface LiveEvent {
  id: number;
  type: string;
  time: string;
  agent_id?: string;
  [k: string]: any;
}

export interface LiveClient {
  /** Every event received, in the order received (across reconnections). */
  events: LiveEvent[];
  /** Control messages (hello, resync, ...), with the URL they came from. */
  controls: Array<{ url: string; message: any }>;
  /** The URL of each connection made, with the last_event_id it asked for. */
  connections: Array<{ url: string; lastEventId: number | null }>;
  lastId(): number;
  /** The URL of the current connection. */
  url(): string | undefined;
  connected(): boolean;
  /** Resolves once the current connection said hello. */
  opened(): Promise<void>;
  /** Closes the current connection and opens one to `url` with the last id received. */
  switchTo(url: string): Promise<void>;
  /** Closes for good; no reconnection. */
  close(): Promise<void>;
  waitForEvent(pred: (e: LiveEvent) => boolean, what: string, timeoutMs?: number): Promise<LiveEvent>;
}

export interface LiveClientOptions {
  /** Replica base URLs; the client starts on the first and, when dropped, tries the others in turn. */
  urls: string[];
  token: () => string;
  /** Reconnect when the connection drops (default true). */
  reconnect?: boolean;
  /** last_event_id of the first connection (default: none, live from now). */
  from?: number;
  types?: string[];
}

export function startLiveClient(opts: LiveClientOptions): LiveClient {
  const events: LiveEvent[] = [];
  const controls: LiveClient['controls'] = [];
  const connections: LiveClient['connections'] = [];
  const types = (opts.types ?? STATE_TYPES).join(',');
  let last: number | null = opts.from ?? null;
  let ws: WebSocket | undefined;
  let current: string | undefined;
  let closedForGood = false;
  let helloed: Promise<void> = Promise.resolve();
  let index = 0;

  function open(url: string): void {
    current = url;
    connections.push({ url, lastEventId: last });
    const q = new URLSearchParams({ types });
    if (last !== null) q.set('last_event_id', String(last));
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/agents/ws?${q}`, ['opmas.v1'], { headers: { Authorization: `Bearer ${opts.token()}` } });
    ws = socket;
    let hello: () => void = () => undefined;
    helloed = new Promise<void>((resolve) => (hello = resolve));
    socket.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (typeof m.id === 'number') {
        events.push(m);
        last = m.id;
      } else {
        controls.push({ url, message: m });
        if (m.type === 'hello') {
          if (last === null) last = m.last_event_id ?? 0;
          hello();
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (ws !== socket || closedForGood || opts.reconnect === false) return;
      ws = undefined;
      // The next replica, after a short pause (a refused connection closes at once).
      setTimeout(() => {
        if (closedForGood || ws) return;
        index = (index + 1) % opts.urls.length;
        open(opts.urls[index]);
      }, 200);
    });
  }
  open(opts.urls[0]);

  const closeSocket = async (socket: WebSocket | undefined) => {
    if (!socket) return;
    const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
    else return;
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  };

  return {
    events,
    controls,
    connections,
    lastId: () => last ?? 0,
    url: () => current,
    connected: () => ws?.readyState === WebSocket.OPEN,
    opened: () => helloed,
    async switchTo(url) {
      const old = ws;
      ws = undefined;
      await closeSocket(old);
      index = Math.max(0, opts.urls.indexOf(url));
      open(url);
      await helloed;
    },
    async close() {
      closedForGood = true;
      await closeSocket(ws);
    },
    waitForEvent: (pred, what, timeoutMs = 60_000) => eventually(async () => events.find(pred), (e) => e !== undefined, what, timeoutMs, 50) as Promise<LiveEvent>,
  };
}
