// The AMS's in-process event bus: every part publishes what happened (status, health,
// recovery, metrics samples, log lines, alerts, config, packages) and anyone may listen (the
// WebSocket stream, alert rules, notifications). Each event gets a monotonically increasing
// id and is kept in a bounded ring buffer, so a client that reconnects with its last id can be
// sent what it missed, or told to resync when that is no longer kept.

export type ProcessStatus = 'discovered' | 'registered' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'degraded';
export type HealthStatus = 'healthy' | 'warning' | 'critical' | 'unknown';

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
  | { type: `package.${string}`; agent_id?: string | null; path?: string; details?: Record<string, unknown> };

export type AmsEvent = AmsEventInput & { id: number; time: string };
export type AmsEventType = AmsEvent['type'];

export type Listener = (event: AmsEvent) => void;

export type EventBus = ReturnType<typeof createEventBus>;

export function createEventBus({ capacity = 10_000 }: { capacity?: number } = {}) {
  const ring: AmsEvent[] = new Array(capacity);
  let nextId = 1;
  const listeners = new Set<Listener>();

  return {
    /** Stamps and keeps the event, then hands it to every listener; a throwing listener harms no one else. */
    publish(input: AmsEventInput): AmsEvent {
      const event = { ...input, id: nextId++, time: new Date().toISOString() } as AmsEvent;
      ring[event.id % capacity] = event;
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A listener's failure is its own; the bus and other listeners go on.
        }
      }
      return event;
    },

    subscribe(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** The id the next event will get minus one (0 before any). */
    lastId: () => nextId - 1,

    /**
     * Events after `lastId`, oldest first; `gap` when some of them are no longer kept (the
     * client must resync from the API).
     */
    since(lastId: number): { events: AmsEvent[]; gap: boolean } {
      const newest = nextId - 1;
      if (lastId >= newest) return { events: [], gap: false };
      const oldestKept = Math.max(1, newest - capacity + 1);
      const gap = lastId + 1 < oldestKept;
      const events: AmsEvent[] = [];
      for (let id = Math.max(lastId + 1, oldestKept); id <= newest; id++) events.push(ring[id % capacity]);
      return { events, gap };
    },
  };
}
