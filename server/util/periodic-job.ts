// A job of the AMS that runs now and then (retention, metric rollups): a run asked for while one
// is in progress joins it instead of starting another, and the timer schedules the next run only
// after the previous one ended, so runs never overlap.
export interface PeriodicJob<A, T> {
  /** One run now; a run in progress is joined (its argument wins). */
  run(arg?: A): Promise<T>;
  /** Runs after `firstDelayMs`, then every `everyMs` after each run ends. */
  start(): void;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
  /** Whether stop() was called since the last start(). */
  stopped(): boolean;
}

export function periodicJob<A, T>(
  runOnce: (arg?: A) => Promise<T>,
  opts: { everyMs: number; firstDelayMs: number; onError: (err: Error) => void },
): PeriodicJob<A, T> {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<T> | undefined;
  let stopped = false;
  const run = (arg?: A): Promise<T> => (current ??= runOnce(arg).finally(() => (current = undefined)));
  return {
    run,
    start(): void {
      stopped = false;
      const tick = (delay: number) => {
        timer = setTimeout(() => {
          void run()
            .catch(opts.onError)
            .finally(() => !stopped && tick(opts.everyMs));
        }, delay);
        timer.unref();
      };
      tick(opts.firstDelayMs);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await current?.catch(() => undefined);
    },
    stopped: () => stopped,
  };
}
