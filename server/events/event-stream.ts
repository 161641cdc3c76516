// Live events across replicas (issue 14): every event that records state is written to the
// outbox in the transaction of its change and published from there to the JetStream stream
// OPMAS_EVENTS (message id `outbox:<id>`: a replica that dies between commit and publication loses
// nothing, and nothing is published twice), by one replica at a time. Samples and log lines go to
// the same stream directly, best-effort. Every replica reads the stream in order and hands each
// event to its local bus, whose id is the stream sequence: a client that reconnects to another
// replica with its last event id gets exactly what it missed.
import { jetstream, jetstreamManager, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { outboxRepo } from '../db/outbox.repo.js';
import { createOutboxBatch } from './outbox-batch.js';
import { createSingletonLock, SINGLETON_KEYS } from '../db/singleton-lock.js';
import type { BrokerConnection } from '../broker/connection.js';
import { clusterReplicas } from '../broker/jetstream.js';
import { backoffDelay } from '../domain/backoff.js';
import type { AmsEvent, AmsEventInput, EventBus } from './bus.js';

export const EVENTS_STREAM = 'OPMAS_EVENTS';
const SUBJECT_ROOT = 'opmas.events';
/** The stream's subjects of events that record state (what the outbox publishes). */
export const STATE_EVENT_SUBJECTS = `${SUBJECT_ROOT}.state.>`;
/**
 * Events that are only a sample of something ongoing, or a view of a row kept elsewhere (the
 * audit log, a channel test's answer): not kept in the outbox, lost with a replica.
 */
const EPHEMERAL: ReadonlySet<string> = new Set(['metrics.sample', 'log.line', 'audit.appended', 'alert.test']);
export const isEphemeral = (type: string) => EPHEMERAL.has(type);

const subjectOf = (type: string) => `${SUBJECT_ROOT}.${isEphemeral(type) ? 'ephemeral' : 'state'}.${type.replace(/[^A-Za-z0-9_-]+/g, '_')}`;

/** The reader's pull expiry; the server sends an idle heartbeat every half of it. */
const READ_EXPIRES_MS = 5000;
const READ_SILENCE_MS = 3 * (READ_EXPIRES_MS / 2);

export async function ensureEventStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  try {
    await jsm.streams.info(EVENTS_STREAM);
    return;
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
  }
  try {
    await jsm.streams.add({
      name: EVENTS_STREAM,
      subjects: [`${SUBJECT_ROOT}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: clusterReplicas(nc),
      max_msgs: 200_000,
      max_age: 24 * 3600 * 1_000_000_000,
      duplicate_window: 120 * 1_000_000_000,
    });
  } catch (err) {
    if (!/already in use|exists/i.test((err as Error).message)) throw err;
  }
}

export interface EventStreamStats {
  published: number;
  delivered: number;
  outbox_pending: number;
  publishing: boolean;
  last_error: string | null;
}

export type EventStream = ReturnType<typeof createEventStream>;

export function createEventStream(deps: { db: Database; logger: Logger; connection: BrokerConnection; bus: EventBus; capacity: number }) {
  const { db, logger, connection, bus } = deps;
  const lock = createSingletonLock(db, SINGLETON_KEYS.outboxPublisher, logger, { name: 'event publisher' });
  const stats: EventStreamStats = { published: 0, delivered: 0, outbox_pending: 0, publishing: false, last_error: null };
  let stopped = false;
  let wake: (() => void) | undefined;
  let woken = false;
  let publisherLoop: Promise<void> | undefined;
  let consumerLoop: Promise<void> | undefined;
  let current: { stop(): void } | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  const nudge = () => {
    woken = true;
    wake?.();
  };

  // Samples and log lines produced while the connection is being re-established (a host-mode
  // broker reload drops it for a moment at each revocation) wait for it, the oldest dropped past
  // a bound: not kept across a crash, but not lost to a blip either.
  const held: Array<{ subject: string; event: Record<string, unknown> }> = [];
  const MAX_HELD = 10_000;
  const sendHeld = () => {
    while (held.length > 0 && connection.status() === 'connected') {
      const next = held[0];
      try {
        connection.publish(next.subject, next.event);
      } catch {
        return;
      }
      held.shift();
    }
  };
  const offConnected = connection.onConnected(sendHeld);

  const outside = createOutboxBatch({ db, logger, written: nudge });
  // The bus hands what producers publish to the stream.
  bus.setSink((input) => {
    if (isEphemeral(input.type)) {
      const event = { ...input, time: new Date().toISOString() };
      const subject = subjectOf(input.type);
      if (held.length === 0 && connection.status() === 'connected') {
        try {
          connection.publish(subject, event);
          return;
        } catch {
          // lost the connection just now: held below
        }
      }
      if (held.length >= MAX_HELD) held.shift();
      held.push({ subject, event });
      return;
    }
    // Not inside a caller's transaction: with the others of this turn, in order (producers that own a transaction use record()).
    outside.append({ ...input, time: new Date().toISOString() });
  });


  async function publishPending(js: JetStreamClient): Promise<number> {
    const rows = await outboxRepo(db.knex).pending(256);
    stats.outbox_pending = rows.length;
    if (rows.length === 0) return 0;
    // In order; acks awaited together (JetStream keeps what one connection sends in order).
    await Promise.all(rows.map((r) => js.publish(subjectOf(r.type), JSON.stringify(r.event), { msgID: `outbox:${r.id}`, timeout: 5000 })));
    await outboxRepo(db.knex).remove(rows.map((r) => r.id));
    stats.published += rows.length;
    return rows.length;
  }

  async function runPublisher(): Promise<void> {
    let failures = 0;
    let js: { nc: NatsConnection; client: JetStreamClient } | undefined;
    while (!stopped && lock.held()) {
      try {
        const nc = connection.raw();
        if (!nc || connection.status() !== 'connected') throw new Error('not connected to NATS');
        if (js?.nc !== nc) {
          await ensureEventStream(nc);
          js = { nc, client: jetstream(nc, { timeout: 5000 }) };
        }
        woken = false;
        const n = await publishPending(js.client);
        failures = 0;
        stats.last_error = null;
        if (n > 0) continue;
        if (woken) continue;
        // Woken by a local commit, a NOTIFY from another replica, or once a second at the latest.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      } catch (err) {
        failures += 1;
        stats.last_error = (err as Error).message;
        if (failures === 1 || failures % 20 === 0) logger.warn({ err: stats.last_error }, 'events not published yet; they wait in the outbox');
        await new Promise((r) => setTimeout(r, backoffDelay({ initial: 200, factor: 2, max: 5000 }, failures)));
      }
    }
  }

  /** Every replica: the stream, in order, to the local bus (the last `capacity` events first, for replay only). */
  async function runConsumer(): Promise<void> {
    let failures = 0;
    let watchdog: NodeJS.Timeout | undefined;
    while (!stopped) {
      try {
        if (connection.status() !== 'connected' && !(await connection.waitConnected(5000))) continue;
        const nc = connection.raw()!;
        await ensureEventStream(nc);
        const jsm = await jetstreamManager(nc, { timeout: 5000 });
        const info = await jsm.streams.info(EVENTS_STREAM);
        const last = info.state.last_seq;
        const known = bus.lastId();
        // After a reconnection go on from what was delivered; at start, fill the replay window.
        const from = known > 0 ? known + 1 : Math.max(info.state.first_seq, last - deps.capacity + 1, 1);
        const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
        const messages = await consumer.consume({ expires: READ_EXPIRES_MS });
        current = messages;
        failures = 0;
        // An ordered consumer has one replica, on one node: when that node dies, or this connection
        // moved to another while it is away, neither events nor heartbeats come and the library
        // waits for that node. Silent for three heartbeats: read again, from the next event, through
        // a consumer on a node that is up.
        let lastSign = Date.now();
        void (async () => {
          for await (const s of messages.status()) if (s.type === 'heartbeat') lastSign = Date.now();
        })().catch(() => undefined);
        watchdog = setInterval(() => {
          if (Date.now() - lastSign <= READ_SILENCE_MS) return;
          logger.warn({ silentMs: Date.now() - lastSign, next: bus.lastId() + 1 }, 'the event stream reader heard nothing; reading again');
          messages.stop();
        }, 1000);
        for await (const m of messages) {
          lastSign = Date.now();
          if (stopped) break;
          let body: AmsEventInput & { time?: string };
          try {
            body = JSON.parse(new TextDecoder().decode(m.data));
          } catch {
            continue;
          }
          const event = { ...body, id: m.seq, time: body.time ?? new Date(Number(BigInt(m.info.timestampNanos) / 1_000_000n)).toISOString() } as AmsEvent;
          if (known === 0 && m.seq <= last) bus.remember(event);
          else {
            stats.delivered += 1;
            bus.deliver(event);
          }
        }
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) logger.warn({ err: (err as Error).message }, 'the event stream reader stopped; starting it again');
      } finally {
        clearInterval(watchdog);
        current?.stop();
        current = undefined;
      }
      if (!stopped) await new Promise((r) => setTimeout(r, backoffDelay({ initial: 200, factor: 2, max: 5000 }, Math.max(1, failures))));
    }
  }

  return {
    /** Writes events in the caller's transaction; they are published once it commits (call committed() then). */
    async record(trx: Knex.Transaction, events: AmsEventInput[]): Promise<void> {
      const state = events.filter((e) => !isEphemeral(e.type));
      const now = new Date().toISOString();
      await outboxRepo(trx).append(state.map((e) => ({ ...e, time: now })));
      if (state.length > 0 && db.kind === 'postgres') await outboxRepo(trx).notify();
      for (const e of events) if (isEphemeral(e.type)) bus.publish(e);
    },
    /** A transaction that recorded events committed: publish them now. */
    committed: nudge,
    stats: (): EventStreamStats => ({ ...stats, publishing: lock.held() }),
    /** The stream's last sequence (the newest event id in the cluster), or undefined when NATS cannot say. */
    async head(): Promise<number | undefined> {
      const nc = connection.raw();
      if (!nc || connection.status() !== 'connected') return undefined;
      try {
        return (await (await jetstreamManager(nc, { timeout: 2000 })).streams.info(EVENTS_STREAM)).state.last_seq;
      } catch {
        return undefined;
      }
    },

    start(): void {
      consumerLoop = runConsumer();
      lock.start(
        () => {
          publisherLoop = runPublisher();
          // Other replicas' commits: PostgreSQL tells this session.
          if (db.kind === 'postgres') {
            void (async () => {
              try {
                const session = await db.session!();
                await session.query('LISTEN opmas_outbox');
                session.on('notification', () => nudge());
                unlisten = async () => {
                  await session.end().catch(() => undefined);
                };
              } catch (err) {
                logger.debug({ err: (err as Error).message }, 'outbox notifications not heard; polling');
              }
            })();
          }
        },
        () => {
          nudge();
          void unlisten?.();
          unlisten = undefined;
        },
      );
    },
    async stop(): Promise<void> {
      await outside.settle();
      stopped = true;
      offConnected();
      held.length = 0;
      nudge();
      current?.stop();
      await publisherLoop?.catch(() => undefined);
      await lock.stop();
      await unlisten?.();
      await consumerLoop?.catch(() => undefined);
    },
  };
}
