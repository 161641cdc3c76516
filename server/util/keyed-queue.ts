// Per-key serialization: work for one key (an agent) runs one item at a time, in the order it
// was queued; different keys run concurrently. The one mechanism the supervisor, the recovery
// engine and the observation applier use (as Signal-Desktop's JobQueue or a Kubernetes work
// queue keyed by object). A failed item does not stop the items queued after it.

export interface KeyedQueue {
  /** Runs `fn` after everything queued before it for `key`; resolves or rejects with its result. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Resolves once everything queued so far for `key` (or for every key) has finished. */
  settle(key?: string): Promise<void>;
  /** Keys with work queued or running. */
  busy(): string[];
}

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<void>>();
  return {
    run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const prev = tails.get(key) ?? Promise.resolve();
      const next = prev.then(fn);
      const tail = next.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return next;
    },
    async settle(key?: string): Promise<void> {
      if (key !== undefined) {
        await tails.get(key);
        return;
      }
      // Work queued while waiting is waited for too.
      while (tails.size > 0) await Promise.all([...tails.values()]);
    },
    busy: () => [...tails.keys()],
  };
}
