// The live event stream, WS /api/v1/agents/ws: authenticates each socket with the security
// layer, sends the bus events the principal may read (with its filters), replays what a
// reconnecting client missed, and polices the socket (origin, message size, liveness, token
// expiry and revocation, slow consumers, shutdown). Attached to the AMS's HTTP(S) server.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { AmsEvent, EventBus } from '../events/bus.js';
import type { Principal } from '../security/principal.js';
import { matchesFilter, mayRead, NO_FILTER, parseFilterInput, readsAnything, type StreamFilter } from './access.js';

export const LIVE_PATH = '/api/v1/agents/ws';
export const PROTOCOL = 'opmas.v1';
export const BEARER_PROTOCOL_PREFIX = 'bearer.';
/** The desktop console's own origin (its window is loaded from opmas://console/). */
export const DESKTOP_ORIGIN = 'opmas://console';

/** Close codes: the standard ones where they fit, 44xx mirroring the HTTP status otherwise. */
export const CLOSE_CODES = {
  /** The AMS is shutting down; reconnect with last_event_id. */
  goingAway: 1001,
  /** A client message exceeded maxPayload (sent by the ws library itself). */
  messageTooBig: 1009,
  /** Bad query string (last_event_id, agent_id, types). */
  badRequest: 4400,
  /** No token, an invalid one, or the token expired or was revoked while connected. */
  unauthenticated: 4401,
  /** The principal may read none of the requested events (or another agent's). */
  forbidden: 4403,
  /** The client did not read fast enough; its send buffer passed the bound. */
  slowConsumer: 4429,
} as const;

export interface LiveStreamOptions {
  /** Largest client message accepted, bytes; larger ones close the socket with 1009. */
  maxPayloadBytes: number;
  /** WebSocket ping interval; a client that has not answered the previous ping is dropped. */
  pingIntervalMs: number;
  /** How often each socket's token is checked again (revocation, role changes, disabled users). */
  revalidateMs: number;
  /** Above this many buffered bytes, metrics samples are coalesced (latest per agent). */
  softBufferBytes: number;
  /** Above this many buffered bytes the client is dropped (close 4429). */
  hardBufferBytes: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveStreamOptions = {
  maxPayloadBytes: 16 * 1024,
  pingIntervalMs: 30_000,
  revalidateMs: 5_000,
  softBufferBytes: 1024 * 1024,
  hardBufferBytes: 8 * 1024 * 1024,
};

export interface LiveStreamDeps {
  events: EventBus;
  /** security.sessions: resolves `Bearer <token>` into a principal, throws when the token is not valid. */
  sessions: { authenticate(authorization: string | undefined): Promise<Principal | undefined> };
  logger: Logger;
  /** Browser origins allowed besides the AMS's own (the CORS allow-list). */
  corsOrigins: string[];
  options?: Partial<LiveStreamOptions>;
}

interface Client {
  ws: WebSocket;
  principal: Principal;
  token: string;
  filter: StreamFilter;
  alive: boolean;
  /** Metrics samples held back while the socket is congested, latest per agent. */
  pending: Map<string, AmsEvent>;
  flushTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
  revalidateTimer?: NodeJS.Timeout;
}

/** Whether a browser origin may open the stream: its own origin, the CORS allow-list, or the desktop console. */
export function originAllowed(origin: string | undefined, host: string | undefined, secure: boolean, allowList: readonly string[]): boolean {
  if (origin === undefined) return true; // not a browser: tokens, not ambient cookies, protect the stream
  if (allowList.includes(origin) || origin === DESKTOP_ORIGIN) return true;
  try {
    const u = new URL(origin);
    return host !== undefined && u.host === host.toLowerCase() && u.protocol === (secure ? 'https:' : 'http:');
  } catch {
    return false;
  }
}

/** The bearer token from the Authorization header, else from the `bearer.<token>` subprotocol. */
export function tokenOf(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : header;
  }
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  return bearer ? bearer.slice(BEARER_PROTOCOL_PREFIX.length) || undefined : undefined;
}

/** opmas.v1 when offered, else the bearer subprotocol (a browser needs one of its offers echoed). */
export function selectProtocol(protocols: Set<string>): string | false {
  if (protocols.has(PROTOCOL)) return PROTOCOL;
  return [...protocols].find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX)) ?? false;
}

const reasonText = (s: string) => Buffer.from(s).subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '');

export type LiveStream = ReturnType<typeof createLiveStream>;

export function createLiveStream(deps: LiveStreamDeps) {
  const options = { ...DEFAULT_LIVE_OPTIONS, ...deps.options };
  const { events, logger } = deps;
  const clients = new Set<Client>();
  const sockets = new Set<WebSocket>();
  const counters = { connected: 0, dropped_slow: 0, coalesced: 0, rejected_origin: 0, unauthenticated: 0 };
  let closing = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, handleProtocols: selectProtocol, clientTracking: false, perMessageDeflate: false });

  const control = (ws: WebSocket, message: Record<string, unknown>) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ ...message, time: new Date().toISOString() }));
  };
  const closeWith = (ws: WebSocket, code: number, reason: string) => {
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reasonText(reason));
  };

  function forget(client: Client): void {
    clients.delete(client);
    clearTimeout(client.flushTimer);
    clearTimeout(client.expiryTimer);
    clearInterval(client.revalidateTimer);
    client.pending.clear();
  }

  function drop(client: Client): void {
    counters.dropped_slow += 1;
    logger.warn({ principal: client.principal.name, buffered: client.ws.bufferedAmount }, 'live stream client too slow; dropped');
    forget(client);
    closeWith(client.ws, CLOSE_CODES.slowConsumer, 'slow_consumer: reconnect with last_event_id');
    // A peer that does not read will not read the close frame either.
    setTimeout(() => client.ws.terminate(), 1000).unref();
  }

  function flushPending(client: Client): void {
    if (client.pending.size === 0) return;
    const held = [...client.pending.values()].sort((a, b) => a.id - b.id);
    client.pending.clear();
    for (const e of held) client.ws.send(JSON.stringify(e));
  }

  function schedulePendingFlush(client: Client): void {
    if (client.flushTimer) return;
    const tick = () => {
      client.flushTimer = undefined;
      if (!clients.has(client)) return;
      if (client.ws.bufferedAmount <= options.softBufferBytes) flushPending(client);
      else client.flushTimer = setTimeout(tick, 100);
    };
    client.flushTimer = setTimeout(tick, 100);
  }

  /** Sends one event if the client may read it and wants it; events go out in id order. */
  function offer(client: Client, event: AmsEvent, text: () => string): void {
    if (!mayRead(client.principal, event) || !matchesFilter(client.filter, event)) return;
    const ws = client.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > options.hardBufferBytes) return drop(client);
    if (event.type === 'metrics.sample' && ws.bufferedAmount > options.softBufferBytes) {
      // Samples are a gauge: when the client lags, only the newest per agent matters.
      if (client.pending.has(event.agent_id)) counters.coalesced += 1;
      client.pending.set(event.agent_id, event);
      schedulePendingFlush(client);
      return;
    }
    // Held samples are older than this event: send them first to keep ids increasing.
    flushPending(client);
    ws.send(text());
  }

  const unsubscribe = events.subscribe((event) => {
    let serialized: string | undefined;
    const text = () => (serialized ??= JSON.stringify(event));
    for (const client of clients) offer(client, event, text);
  });

  async function revalidate(client: Client): Promise<void> {
    try {
      const principal = await deps.sessions.authenticate(`Bearer ${client.token}`);
      if (principal && clients.has(client)) client.principal = principal;
    } catch (err) {
      if ((err as { status?: number }).status !== 401) return; // the database is down, say: keep the socket
      if (!clients.has(client)) return;
      const message = (err as Error).message;
      forget(client);
      closeWith(client.ws, CLOSE_CODES.unauthenticated, /expired/i.test(message) ? 'token_expired' : /revoked|disabled|no longer exists/i.test(message) ? 'token_revoked' : 'invalid_token');
    }
  }

  function handleMessage(client: Client, data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) return control(client.ws, { type: 'error', code: 'invalid_message', message: 'messages are JSON text' });
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return control(client.ws, { type: 'error', code: 'invalid_message', message: 'not valid JSON' });
    }
    const action = (msg as { action?: unknown } | null)?.action;
    if (action === 'ping') return control(client.ws, { type: 'pong' });
    if (action !== 'subscribe') return control(client.ws, { type: 'error', code: 'invalid_message', message: 'unknown action; expected "subscribe" or "ping"' });
    const m = msg as { agent_ids?: unknown; types?: unknown };
    const parsed = parseFilterInput({ agent_ids: m.agent_ids, types: m.types });
    if ('error' in parsed) return control(client.ws, { type: 'error', code: 'invalid_filter', message: parsed.error });
    const bound = client.principal.agentId;
    if (bound !== undefined && parsed.agentIds && [...parsed.agentIds].some((id) => id !== bound)) {
      return control(client.ws, { type: 'error', code: 'forbidden', message: `this principal may only follow agent ${bound}` });
    }
    client.filter = {
      agentIds: parsed.agentIds === undefined ? client.filter.agentIds : parsed.agentIds,
      types: parsed.types === undefined ? client.filter.types : parsed.types,
    };
    control(client.ws, { type: 'subscribed', agent_ids: client.filter.agentIds ? [...client.filter.agentIds] : null, types: client.filter.types });
  }

  async function onConnection(ws: WebSocket, req: http.IncomingMessage, url: URL): Promise<void> {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('error', (err) => logger.debug({ err: err.message }, 'live stream socket error'));
    const token = tokenOf(req);
    if (!token) {
      counters.unauthenticated += 1;
      return closeWith(ws, CLOSE_CODES.unauthenticated, 'unauthenticated: send Authorization: Bearer <token> or the subprotocol bearer.<token>');
    }
    let principal: Principal | undefined;
    try {
      principal = await deps.sessions.authenticate(`Bearer ${token}`);
    } catch (err) {
      counters.unauthenticated += 1;
      const status = (err as { status?: number }).status;
      return closeWith(ws, status === 401 ? CLOSE_CODES.unauthenticated : 1011, status === 401 ? `invalid_token: ${(err as Error).message}` : 'internal error');
    }
    if (!principal) return closeWith(ws, CLOSE_CODES.unauthenticated, 'unauthenticated');
    if (ws.readyState !== WebSocket.OPEN) return;

    const lastEventText = url.searchParams.get('last_event_id');
    const lastEventId = lastEventText === null || lastEventText === '' ? undefined : Number(lastEventText);
    if (lastEventId !== undefined && (!Number.isSafeInteger(lastEventId) || lastEventId < 0)) {
      return closeWith(ws, CLOSE_CODES.badRequest, 'bad_request: last_event_id must be a non-negative integer');
    }
    const agentIds = url.searchParams.getAll('agent_id');
    const typesParam = url.searchParams.getAll('types');
    const parsed = parseFilterInput({ agent_ids: agentIds.length > 0 ? agentIds.join(',') : undefined, types: typesParam.length > 0 ? typesParam.join(',') : undefined });
    if ('error' in parsed) return closeWith(ws, CLOSE_CODES.badRequest, `bad_request: ${parsed.error}`);
    if (!readsAnything(principal)) return closeWith(ws, CLOSE_CODES.forbidden, `forbidden: role ${principal.role} may read no live event`);
    if (principal.agentId !== undefined && parsed.agentIds && [...parsed.agentIds].some((id) => id !== principal.agentId)) {
      return closeWith(ws, CLOSE_CODES.forbidden, `forbidden: this principal may only follow agent ${principal.agentId}`);
    }

    const client: Client = { ws, principal, token, filter: { ...NO_FILTER, ...parsed }, alive: true, pending: new Map() };
    // From here to clients.add nothing awaits, so no event can slip between the replay and the live feed.
    const newest = events.lastId();
    control(ws, {
      type: 'hello',
      last_event_id: newest,
      // Which subprotocol was selected, without echoing a token back into a message.
      protocol: ws.protocol === PROTOCOL ? PROTOCOL : ws.protocol ? 'bearer' : null,
      principal: { name: principal.name, role: principal.role, agent_id: principal.agentId ?? null },
      filters: { agent_ids: client.filter.agentIds ? [...client.filter.agentIds] : null, types: client.filter.types },
    });
    if (lastEventId !== undefined) {
      const missed = events.since(lastEventId);
      // Ids are the cluster's event stream sequence: one ahead of this replica is from another stream (a new installation).
      if (missed.gap || lastEventId > newest) {
        control(ws, { type: 'resync', last_event_id: newest, reason: lastEventId > newest ? 'last_event_id is ahead of the events this AMS has; reload' : 'events after last_event_id are no longer kept' });
      } else {
        for (const e of missed.events) offer(client, e, () => JSON.stringify(e));
      }
    }
    clients.add(client);
    counters.connected += 1;

    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => handleMessage(client, data, isBinary));
    ws.on('close', () => forget(client));
    if (principal.exp) {
      // Close when the access token expires; a client reconnects with a fresh one and last_event_id.
      const ms = Math.min(principal.exp * 1000 - Date.now(), 2 ** 31 - 1);
      client.expiryTimer = setTimeout(() => {
        forget(client);
        closeWith(ws, CLOSE_CODES.unauthenticated, 'token_expired');
      }, Math.max(0, ms));
    }
    client.revalidateTimer = setInterval(() => void revalidate(client), options.revalidateMs);
  }

  const heartbeat = setInterval(() => {
    for (const client of clients) {
      if (!client.alive) {
        forget(client);
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }, options.pingIntervalMs);
  heartbeat.unref();

  function reject(socket: Duplex, status: number, text: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }

  return {
    /** Takes over WebSocket upgrades of `server` on the live path; others get 404. */
    attach(server: http.Server, opts: { secure: boolean }): void {
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on('error', () => socket.destroy());
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (url.pathname !== LIVE_PATH) return reject(socket, 404, 'Not Found');
        if (closing) return reject(socket, 503, 'Service Unavailable');
        if (!originAllowed(req.headers.origin, req.headers.host, opts.secure, deps.corsOrigins)) {
          counters.rejected_origin += 1;
          return reject(socket, 403, 'Forbidden');
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          onConnection(ws, req, url).catch((err) => {
            logger.warn({ err: (err as Error).message }, 'live stream connection failed');
            ws.terminate();
          });
        });
      });
    },

    /** Closes every socket with 1001 (clients reconnect after the restart) and stops. */
    async close(): Promise<void> {
      closing = true;
      unsubscribe();
      clearInterval(heartbeat);
      for (const client of [...clients]) forget(client);
      const open = [...sockets];
      for (const ws of open) closeWith(ws, CLOSE_CODES.goingAway, 'server_shutdown');
      const deadline = Date.now() + 2000;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },

    /** Connected clients, what they hold in send buffers (bytes), and counters since start. */
    stats: () => ({ clients: clients.size, buffered: [...clients].reduce((n, c) => n + c.ws.bufferedAmount, 0), ...counters }),
  };
}
