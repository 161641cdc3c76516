// The AMS's in-process event bus: every part publishes what happened (status, health,
// recovery, metrics samples, log lines, alerts, config, packages) and anyone may listen (the
// WebSocket stream, alert rules, notifications). Each event gets a monotonically increasing
// id and is kept in a bounded ring buffer, so a client that reconnects with its last id can be
// sent what it missed, or told to resync when that is no longer kept.

import type { Knex } from 'knex';
import type { HealthState, ProcessState } from '../domain/statuses.js';

export type ProcessStatus = ProcessState;
export type HealthStatus = HealthState;

/** What producers publish; the bus adds `id` and `time`. */
export type AmsEventInput =
  | { type: 'status.changed'; agent_id: string; from: ProcessStatus | null; to: ProcessStatus; event_type: string; details: Record<string, unknown> }
  | { type: 'health.changed'; agent_id: string; from: HealthStatus; to: HealthStatus; reasons: Array<Record<string, unknown>> }
  | {
      type: 'recovery.started' | 'recovery.attempt' | 'recovery.succeeded' | 'recovery.failed' | 'recovery.escalated';
      agent_id: string;
      attempt?: number;
      max_attempts?: number;
      trigger?: string;
      action?: string;
      error?: string;
      next_attempt_at?: string | null;
      details?: Record<string, unknown>;
    }
  | { type: 'metrics.sample'; agent_id: string; t: number; values: Record<string, number> }
  | { type: 'log.line'; agent_id: string; level: string; message: string; timestamp: string; source: string; context?: Record<string, unknown> | null }
  | { type: 'config.applied' | 'config.rejected' | 'config.rolled_back'; agent_id: string; version: number; details?: Record<string, unknown> }
  | { type: 'alert.raised' | 'alert.updated' | 'alert.acknowledged' | 'alert.resolved'; agent_id?: string | null; alert: Record<string, unknown> }
  | { type: 'alert.silence.created' | 'alert.silence.ended'; agent_id?: string | null; silence: Record<string, unknown> }
  | { type: 'alert.test'; agent_id?: null; alert: Record<string, unknown>; channel: string }
  | { type: 'audit.appended'; agent_id?: null; entry: Record<string, unknown> }
  | { type: `package.${string}`; agent_id?: string | null; path?: string; details?: Record<string, unknown> }
  | { type: 'host.up' | 'host.down'; host_id: string; details?: Record<string, unknown> };

export type AmsEvent = AmsEventInput & { id: number; time: string };
export type AmsEventType = AmsEvent['type'];

export type Listener = (event: AmsEvent) => void;

/** Writes events in a transaction and publishes them once it committed (the event stream's outbox). */
export interface EventRecorder {
  record(trx: Knex.Transaction, events: AmsEventInput[]): Promise<void>;
  committed(): void;
}

export type EventBus = ReturnType<typeof createEventBus>;

/**
 * The bus of one AMS process. On its own it stamps what is published with its own ids (unit
 * tests, tools). Once a sink is set (the AMS: the event stream of the cluster), what is published
 * goes to the sink, and listeners get what the stream delivers, with the stream's ids, the same on
 * every replica.
 */
export function createEventBus({ capacity = 10_000 }: { capacity?: number } = {}) {
  const ring: AmsEvent[] = new Array(capacity);
  let nextId = 1;
  let newest = 0;
  let oldest = 0;
  let sink: ((input: AmsEventInput) => void) | undefined;
  let recorder: EventRecorder | undefined;
  const listeners = new Set<Listener>();

  function keep(event: AmsEvent): void {
    ring[event.id % capacity] = event;
    if (oldest === 0 || event.id < oldest) oldest = event.id;
    newest = Math.max(newest, event.id);
    nextId = newest + 1;
    oldest = Math.max(oldest, newest - capacity + 1);
  }

  function deliver(event: AmsEvent): void {
    keep(event);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the bus and other listeners go on.
      }
    }
  }

  return {
    /** Hands the event to the sink (the cluster's stream), or stamps and delivers it here when there is none. */
    publish(input: AmsEventInput): void {
      if (sink) {
        sink(input);
        return;
      }
      deliver({ ...input, id: nextId, time: new Date().toISOString() } as AmsEvent);
    },

    /** Where published events go instead of straight to the listeners. */
    setSink(fn: ((input: AmsEventInput) => void) | undefined): void {
      sink = fn;
    },

    /** Where events recorded with a transaction are written (the outbox). */
    setRecorder(r: EventRecorder | undefined): void {
      recorder = r;
    },

    /**
     * Records events with the change they are about, inside its transaction (the outbox); answers
     * what to call once the transaction committed (it publishes them). Without a recorder they
     * are published then, by this process only.
     */
    async record(trx: Knex.Transaction, events: AmsEventInput[]): Promise<() => void> {
      if (events.length === 0) return () => undefined;
      if (recorder) {
        await recorder.record(trx, events);
        return () => recorder!.committed();
      }
      return () => {
        for (const e of events) this.publish(e);
      };
    },

    /** An event from the stream: kept for replay and handed to every listener. */
    deliver,

    /** An event from before this process started: kept for replay only. */
    remember: keep,

    subscribe(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** The newest event's id (0 before any). */
    lastId: () => newest,

    /**
     * Events after `lastId`, oldest first; `gap` when some of them are no longer kept (the
     * client must resync from the API).
     */
    since(lastId: number): { events: AmsEvent[]; gap: boolean } {
      if (lastId >= newest) return { events: [], gap: false };
      const oldestKept = Math.max(1, oldest);
      const gap = lastId + 1 < oldestKept;
      const events: AmsEvent[] = [];
      for (let id = Math.max(lastId + 1, oldestKept); id <= newest; id++) {
        const e = ring[id % capacity];
        if (e && e.id === id) events.push(e);
      }
      return { events, gap };
    },
  };
}
