// Singleton work fed by a durable JetStream consumer (the observation applier, the alert
// engine): one API replica at a time holds a PostgreSQL advisory lock and consumes; when it dies
// another takes the lock and goes on from the first message not acked. The handler acks each
// message once what it did is committed, so nothing acknowledged is lost and a redelivery is
// the handler's to recognise (each keeps its own position in the database).
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { createSingletonLock } from '../db/singleton-lock.js';
import type { BrokerConnection } from '../broker/connection.js';
import { backoffDelay } from '../domain/backoff.js';

const ACK_WAIT_NS = 30_000 * 1_000_000;

export interface DurableWorkerDeps {
  db: Database;
  logger: Logger;
  connection: BrokerConnection;
  /** What the work is called in logs. */
  name: string;
  lockKey: number;
  stream: string;
  durable: string;
  filterSubject: string;
  /** Makes the stream when it is missing. */
  ensureStream?: (nc: NatsConnection) => Promise<void>;
  /**
   * Handles one message and acks (or naks, or terms) it. `active()` turns false once this
   * replica lost the lock or is stopping: a message left unacked then goes to the next holder.
   */
  handle(m: JsMsg, active: () => boolean): Promise<void>;
  /** This replica took the lock (before the first message). */
  onAcquired?(): void;
  /** This replica lost the lock, or stopped. */
  onReleased?(): void;
}

export type DurableWorker = ReturnType<typeof createDurableWorker>;

export function createDurableWorker(deps: DurableWorkerDeps) {
  const { logger } = deps;
  const lock = createSingletonLock(deps.db, deps.lockKey, logger, { name: deps.name });
  let running = false;
  let stopped = false;
  let current: { stop(): void } | undefined;
  let loop: Promise<void> | undefined;
  const active = () => running && !stopped && lock.held();

  /**
   * The durable consumer, made again from the first message not acked yet: what an earlier
   * holder had taken but not acked (it died, or stopped) comes first and at once, in stream
   * order, rather than after its ack wait behind newer ones.
   */
  async function ensureConsumer(nc: NatsConnection): Promise<void> {
    await deps.ensureStream?.(nc);
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    let start: number | undefined;
    try {
      const info = await jsm.consumers.info(deps.stream, deps.durable);
      start = info.ack_floor.stream_seq + 1;
      await jsm.consumers.delete(deps.stream, deps.durable);
    } catch {
      // none yet: from the start of the stream
    }
    await jsm.consumers.add(deps.stream, {
      durable_name: deps.durable,
      ack_policy: AckPolicy.Explicit,
      ...(start !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start } : { deliver_policy: DeliverPolicy.All }),
      filter_subject: deps.filterSubject,
      max_ack_pending: 256,
      ack_wait: ACK_WAIT_NS,
      max_deliver: -1,
    });
  }

  /** Consumes while this replica holds the lock; starts over after a lost connection. */
  async function consumeLoop(): Promise<void> {
    let failures = 0;
    while (running && !stopped) {
      try {
        if (deps.connection.status() !== 'connected' && !(await deps.connection.waitConnected(5000))) continue;
        const nc = deps.connection.raw()!;
        await ensureConsumer(nc);
        const consumer = await jetstream(nc).consumers.get(deps.stream, deps.durable);
        // A consumer deleted under it (or its stream) ends the loop, which makes it again.
        const messages = await consumer.consume({ max_messages: 64, expires: 5000, abort_on_missing_resource: true });
        current = messages;
        failures = 0;
        for await (const m of messages) {
          if (!running || stopped) break;
          await deps.handle(m, active);
        }
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) logger.warn({ worker: deps.name, err: (err as Error).message }, 'consumer interrupted; starting it again');
      } finally {
        current?.stop();
        current = undefined;
      }
      if (running && !stopped) await new Promise((r) => setTimeout(r, backoffDelay({ initial: 200, factor: 2, max: 5000 }, Math.max(1, failures))));
    }
  }

  return {
    held: () => lock.held(),
    active,
    start(): void {
      lock.start(
        () => {
          running = true;
          deps.onAcquired?.();
          loop = consumeLoop();
        },
        () => {
          running = false;
          current?.stop();
          deps.onReleased?.();
        },
      );
    },
    async stop(): Promise<void> {
      stopped = true;
      const was = running;
      running = false;
      current?.stop();
      await loop?.catch(() => undefined);
      if (was) deps.onReleased?.();
      await lock.stop();
    },
  };
}
