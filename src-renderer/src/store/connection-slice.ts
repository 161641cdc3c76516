// How the console is connected: the live stream's state, whether the AMS answers HTTP, and
// the AMS's own health report.
import type { StreamStatus } from '../api/stream';
import type { Health } from '../api/types';
import type { Loadable } from './loadable';
import type { Slice, StoreDeps } from './store';

export type ConnectionState = 'live' | 'connecting' | 'reconnecting' | 'offline';

export interface ConnectionSlice {
  stream: StreamStatus;
  amsReachable: boolean;
  health: Loadable<Health>;
  setStream(status: StreamStatus): void;
  setReachable(reachable: boolean): void;
  loadHealth(): Promise<void>;
}

/**
 * What the connection badge shows: offline only when the AMS does not answer HTTP at all;
 * while it answers, a stream that keeps failing is still reconnecting.
 */
export function connectionState(s: Pick<ConnectionSlice, 'stream' | 'amsReachable'>): ConnectionState {
  if (!s.amsReachable) return 'offline';
  return s.stream.state === 'offline' ? 'reconnecting' : s.stream.state;
}

export const connectionSlice =
  ({ client }: StoreDeps): Slice<ConnectionSlice> =>
  (set, get) => ({
    stream: { state: 'connecting', attempt: 0, retryAt: null, reason: null },
    amsReachable: true,
    health: { status: 'idle' },
    setStream: (stream) => set({ stream }),
    setReachable: (amsReachable) => {
      if (get().amsReachable !== amsReachable) set({ amsReachable });
    },
    async loadHealth() {
      set({ health: { status: 'loading', data: get().health.data } });
      try {
        set({ health: { status: 'ready', data: await client.health() } });
      } catch (error) {
        set({ health: { status: 'error', error, data: get().health.data } });
      }
    },
  });
