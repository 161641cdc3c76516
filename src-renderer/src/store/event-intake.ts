// Where live events enter the console: they are queued and applied to the store in batches
// (one store update per flush however many events arrived), then handed to the views that
// follow one agent (timeline, logs, recovery, config).
import type { LiveEvent } from '../api/types';
import type { ConsoleStore } from './store';

export type BatchListener = (events: LiveEvent[]) => void;

export interface EventIntake {
  push(event: LiveEvent): void;
  /** Applies what is queued now (tests, and before a resync). */
  flush(): void;
  subscribe(listener: BatchListener): () => void;
  /** Tells the views to reload: the AMS could not replay what the console missed. */
  resync(): void;
  onResync(listener: () => void): () => void;
}

export interface EventIntakeDeps {
  store: ConsoleStore;
  /** Longest an event waits before it is applied. */
  flushMs?: number;
  schedule?: (fn: () => void, ms: number) => unknown;
}

export function createEventIntake({ store, flushMs = 100, schedule = (fn, ms) => setTimeout(fn, ms) }: EventIntakeDeps): EventIntake {
  let queue: LiveEvent[] = [];
  let scheduled = false;
  const listeners = new Set<BatchListener>();
  const resyncListeners = new Set<() => void>();

  function flush() {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const s = store.getState();
    s.applyFleetEvents(batch);
    s.applySamples(batch);
    s.applyAlertEvents(batch);
    s.applyPackageEvents(batch);
    s.applyAuditEvents(batch);
    for (const l of listeners) {
      try {
        l(batch);
      } catch (err) {
        console.error('live event listener failed', err);
      }
    }
  }

  return {
    push(event) {
      queue.push(event);
      if (!scheduled) {
        scheduled = true;
        schedule(flush, flushMs);
      }
    },
    flush,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    resync() {
      flush();
      for (const l of resyncListeners) l();
    },
    onResync(listener) {
      resyncListeners.add(listener);
      return () => void resyncListeners.delete(listener);
    },
  };
}
