// Fetches something for a view and keeps its loading / ready / error state, with reload.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Loadable } from '../../store/loadable';

export interface Resource<T> {
  state: Loadable<T>;
  /** Fetches again; keeps showing the data it has meanwhile. */
  reload(): Promise<void>;
  /** Replaces the data without fetching (from a live event or a write's answer). */
  set(update: T | ((prev: T | undefined) => T)): void;
}

export function useResource<T>(fetcher: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<Loadable<T>>({ status: 'loading' });
  const current = useRef<AbortController | null>(null);
  const dataRef = useRef<T | undefined>(undefined);
  const fetchIt = useCallback(fetcher, deps);

  const reload = useCallback(async () => {
    current.current?.abort();
    const ctl = new AbortController();
    current.current = ctl;
    setState({ status: 'loading', data: dataRef.current });
    try {
      const data = await fetchIt(ctl.signal);
      if (ctl.signal.aborted) return;
      dataRef.current = data;
      setState({ status: 'ready', data });
    } catch (error) {
      if (ctl.signal.aborted) return;
      setState({ status: 'error', error, data: dataRef.current });
    }
  }, [fetchIt]);

  useEffect(() => {
    dataRef.current = undefined;
    void reload();
    return () => current.current?.abort();
  }, [reload]);

  const set = useCallback((update: T | ((prev: T | undefined) => T)) => {
    const next = typeof update === 'function' ? (update as (p: T | undefined) => T)(dataRef.current) : update;
    dataRef.current = next;
    setState({ status: 'ready', data: next });
  }, []);

  return { state, reload, set };
}
