// React access to the console: the store through selectors, the client, and live events.
import { createContext, useContext, useEffect, useRef } from 'react';
import type { ReactNode } from 'react';
import { useStore } from 'zustand';
import type { LiveEvent } from '../api/types';
import type { Console } from '../console';
import type { ConsoleState } from './store';

const ConsoleContext = createContext<Console | null>(null);

export function ConsoleProvider({ value, children }: { value: Console; children: ReactNode }) {
  return <ConsoleContext.Provider value={value}>{children}</ConsoleContext.Provider>;
}

export function useConsole(): Console {
  const c = useContext(ConsoleContext);
  if (!c) throw new Error('useConsole outside ConsoleProvider');
  return c;
}

/** Selects from the store; the component re-renders when the selected value changes (Object.is). */
export function useConsoleStore<T>(selector: (s: ConsoleState) => T): T {
  return useStore(useConsole().store, selector);
}

/** Calls `handler` with each batch of live events (newest last) while mounted. */
export function useLiveEvents(handler: (events: LiveEvent[]) => void, onResync?: () => void): void {
  const { intake } = useConsole();
  const h = useRef(handler);
  const r = useRef(onResync);
  h.current = handler;
  r.current = onResync;
  useEffect(() => {
    const a = intake.subscribe((batch) => h.current(batch));
    const b = intake.onResync(() => r.current?.());
    return () => {
      a();
      b();
    };
  }, [intake]);
}
