// The AMS's own broker client: connects with the AMS user's credentials, reconnects forever
// with backoff, reports its status and latency to /health, sends control requests, and keeps
// subscriptions alive across reconnections. Never throws from a message callback.
import { connect, credsAuthenticator, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { AgentUnreachable, BrokerUnavailable, NoResponders } from '../errors.js';
import { subjects } from './subjects.js';

export type BrokerConnectionStatus = 'connected' | 'reconnecting' | 'down';

export interface BrokerTlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface ReconnectPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = { initialDelayMs: 100, maxDelayMs: 5000 };

/**
 * Wait before the next connection attempt after `elapsedMs` without a connection: half the
 * outage so far, between the policy's bounds, so attempts thin out exponentially.
 */
export function reconnectDelay(elapsedMs: number, policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY): number {
  return Math.min(Math.max(policy.initialDelayMs, Math.floor(elapsedMs / 2)), policy.maxDelayMs);
}

export interface BrokerConnectionOptions {
  /** Server URLs; a function is asked again at every (re)connection. */
  servers: () => string[];
  /** The `.creds` file body of the AMS's user. */
  creds: () => string;
  tls?: BrokerTlsOptions;
  logger: Logger;
  name?: string;
  /** Request inbox prefix (the user may subscribe only to its own); default the AMS's. */
  inboxPrefix?: string;
  reconnectPolicy?: Partial<ReconnectPolicy>;
}

export type MessageHandler = (msg: Msg) => void;

export type BrokerConnection = ReturnType<typeof createBrokerConnection>;

export function createBrokerConnection(opts: BrokerConnectionOptions) {
  const { logger } = opts;
  const policy = { ...DEFAULT_RECONNECT_POLICY, ...opts.reconnectPolicy };
  let nc: NatsConnection | undefined;
  let status: BrokerConnectionStatus = 'down';
  let lastError: string | undefined;
  let disconnectedSince = Date.now();
  let started = false;
  let closing = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;
  const registered = new Map<number, { subject: string; handler: MessageHandler; queue?: string; sub?: Subscription }>();
  let nextId = 1;
  const statusListeners = new Set<(s: BrokerConnectionStatus) => void>();

  const setStatus = (next: BrokerConnectionStatus) => {
    if (next === status) return;
    status = next;
    if (next === 'connected') lastError = undefined;
    else disconnectedSince = Date.now();
    for (const l of statusListeners) l(next);
  };

  function subscribeOn(conn: NatsConnection, entry: { subject: string; handler: MessageHandler; queue?: string; sub?: Subscription }) {
    entry.sub = conn.subscribe(entry.subject, {
      ...(entry.queue ? { queue: entry.queue } : {}),
      callback: (err, msg) => {
        if (err) {
          logger.warn({ subject: entry.subject, reason: err.message }, 'broker subscription failed');
          return;
        }
        try {
          entry.handler(msg);
        } catch (e) {
          logger.error({ err: e, subject: entry.subject }, 'broker message handler threw');
        }
      },
    });
  }

  async function connectOnce(): Promise<void> {
    const servers = opts.servers();
    if (servers.length === 0) throw new Error('no broker address yet');
    const conn = await connect({
      servers,
      authenticator: credsAuthenticator(() => new TextEncoder().encode(opts.creds())),
      name: opts.name ?? 'opmas-ams',
      inboxPrefix: opts.inboxPrefix ?? subjects.amsInboxPrefix,
      tls: opts.tls && Object.values(opts.tls).some(Boolean) ? { ...opts.tls } : undefined,
      // The first connection is retried by scheduleConnect (so close() can cancel it); once
      // connected, the client reconnects by itself, forever.
      timeout: 5000,
      maxReconnectAttempts: -1,
      ignoreAuthErrorAbort: true,
      reconnectDelayHandler: () => reconnectDelay(Date.now() - disconnectedSince, policy),
      pingInterval: 10_000,
      maxPingOut: 2,
    });
    if (closing) {
      await conn.close();
      return;
    }
    nc = conn;
    setStatus('connected');
    logger.info({ server: conn.getServer() }, 'connected to the broker');
    for (const entry of registered.values()) subscribeOn(conn, entry);
    void watch(conn);
  }

  async function watch(conn: NatsConnection): Promise<void> {
    (async () => {
      for await (const s of conn.status()) {
        if (s.type === 'disconnect') {
          setStatus('reconnecting');
          logger.warn({ server: s.server }, 'lost the broker connection; reconnecting');
        } else if (s.type === 'reconnect') {
          setStatus('connected');
          logger.info({ server: s.server }, 'reconnected to the broker');
        } else if (s.type === 'error') {
          lastError = s.error.message;
          if (!(s.error instanceof natsErrors.PermissionViolationError)) logger.warn({ reason: s.error.message }, 'broker error');
          else logger.error({ reason: s.error.message }, 'the AMS broker user lacks a permission');
        }
      }
    })().catch(() => undefined);
    const err = await conn.closed();
    if (nc === conn) nc = undefined;
    if (closing) return;
    // Reconnection is unlimited, so this only happens on an unexpected close: start over.
    lastError = err instanceof Error ? err.message : 'connection closed';
    logger.warn({ reason: lastError }, 'broker connection closed; connecting again');
    setStatus('reconnecting');
    scheduleConnect();
  }

  function scheduleConnect(delayMs = 0): void {
    if (closing) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      connecting = connectOnce().catch((err) => {
        lastError = (err as Error).message;
        setStatus('reconnecting');
        scheduleConnect(reconnectDelay(Date.now() - disconnectedSince, policy));
      });
    }, delayMs);
  }

  /** True once connected, false when `timeoutMs` passed first. */
  function waitConnected(timeoutMs: number): Promise<boolean> {
    if (status === 'connected') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        statusListeners.delete(listener);
        resolve(false);
      }, timeoutMs);
      const listener = (s: BrokerConnectionStatus) => {
        if (s !== 'connected') return;
        clearTimeout(timer);
        statusListeners.delete(listener);
        resolve(true);
      };
      statusListeners.add(listener);
    });
  }

  function requireConnection(): NatsConnection {
    if (!nc || status !== 'connected') throw new BrokerUnavailable(status === 'reconnecting' ? 'reconnecting to the broker' : 'not connected to the broker');
    return nc;
  }

  return {
    /** Starts connecting in the background; see waitConnected(). */
    start(): void {
      if (started) return;
      started = true;
      disconnectedSince = Date.now();
      setStatus('reconnecting');
      scheduleConnect();
    },
    waitConnected,
    status: () => status,
    lastError: () => lastError,
    onStatus(listener: (s: BrokerConnectionStatus) => void): () => void {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    /** Round trip to the server in milliseconds; BrokerUnavailable when not connected. */
    async latency(): Promise<number> {
      return requireConnection().rtt();
    },
    /** Publishes a JSON body; BrokerUnavailable when not connected (nothing is queued for later). */
    publish(subject: string, body: unknown): void {
      requireConnection().publish(subject, JSON.stringify(body));
    },
    /** Answers a request message with a JSON body (nothing when it expects no reply or the connection is gone). */
    reply(msg: Msg, body: unknown): void {
      if (!msg.reply) return;
      try {
        msg.respond(JSON.stringify(body));
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'could not answer a request');
      }
    },
    /** Calls `listener` after every (re)connection (subscriptions are already back by then). */
    onConnected(listener: () => void): () => void {
      const l = (s: BrokerConnectionStatus) => {
        if (s === 'connected') listener();
      };
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
    /**
     * A JSON request and its JSON reply. While reconnecting it waits for the connection within
     * the same time budget (a host-mode broker reload drops every connection for a moment), and
     * sends nothing before; BrokerUnavailable when still not connected; AgentUnreachable when
     * nobody answers in time.
     */
    async request(subject: string, body: unknown, timeoutMs: number): Promise<unknown> {
      const t0 = Date.now();
      if (status === 'reconnecting') await waitConnected(timeoutMs);
      const conn = requireConnection();
      const budget = Math.max(1, timeoutMs - (Date.now() - t0));
      let reply: Msg;
      // A reply cannot come over a connection that dropped: fail now rather than at the timeout.
      let onDrop: ((s: BrokerConnectionStatus) => void) | undefined;
      const dropped = new Promise<never>((_, reject) => {
        onDrop = (s) => {
          if (s !== 'connected') reject(new BrokerUnavailable('the connection was lost during the request'));
        };
        statusListeners.add(onDrop);
      });
      try {
        reply = await Promise.race([conn.request(subject, JSON.stringify(body), { timeout: budget }), dropped]);
      } catch (err) {
        if (err instanceof BrokerUnavailable) throw err;
        if (err instanceof natsErrors.RequestError && err.isNoResponders()) throw new NoResponders(subject);
        if (err instanceof natsErrors.TimeoutError || (err as Error).cause instanceof natsErrors.TimeoutError) {
          throw new AgentUnreachable(`no reply on ${subject} within ${timeoutMs} ms`);
        }
        if (status !== 'connected') throw new BrokerUnavailable('the connection was lost during the request');
        throw err;
      } finally {
        statusListeners.delete(onDrop!);
      }
      try {
        return reply.json();
      } catch {
        throw new AgentUnreachable(`the reply on ${subject} is not JSON`);
      }
    },
    /**
     * Subscribes now if connected, and again on every new connection; returns the unsubscribe
     * function. With `queue`, each message goes to one member of the queue group.
     */
    subscribe(subject: string, handler: MessageHandler, opts: { queue?: string } = {}): () => void {
      const id = nextId++;
      const entry: { subject: string; handler: MessageHandler; queue?: string; sub?: Subscription } = { subject, handler, queue: opts.queue };
      registered.set(id, entry);
      if (nc && !nc.isClosed()) subscribeOn(nc, entry);
      return () => {
        registered.delete(id);
        entry.sub?.unsubscribe();
      };
    },
    /**
     * The server list changed (host mode after a port change): drops the current connection, so
     * that the next attempt asks `servers()` again. Subscriptions are made again on connect.
     */
    serversChanged(): void {
      const conn = nc;
      if (conn && !conn.isClosed()) void conn.close().catch(() => undefined);
    },
    /** The underlying client, for what this module does not wrap; undefined while not connected. */
    raw: (): NatsConnection | undefined => nc,
    async close(): Promise<void> {
      closing = true;
      clearTimeout(retryTimer);
      const conn = nc;
      nc = undefined;
      if (conn && !conn.isClosed()) await conn.drain().catch(() => conn.close());
      await connecting?.catch(() => undefined);
      setStatus('down');
    },
  };
}
