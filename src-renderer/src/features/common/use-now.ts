// One shared clock for relative times ("12 s ago") and countdowns: every subscriber ticks
// together from a single timer.
import { useSyncExternalStore } from 'react';

const subscribers = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(l: () => void) {
  subscribers.add(l);
  if (!timer) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      subscribers.forEach((s) => s());
    }, 1000);
  }
  return () => {
    subscribers.delete(l);
    if (subscribers.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** Milliseconds since the epoch, updated once a second while any component uses it. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}
