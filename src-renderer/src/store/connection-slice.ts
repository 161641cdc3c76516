// How the console is connected: the live stream's state, whether the AMS answers HTTP, the
// AMS's own health report, and from those the link every view shows: `up`, `interrupted` (the
// AMS answers but live updates stopped: values may be stale) or `down` (the AMS does not
// answer: values are the last known, and controls that need it are disabled).
import type { StreamStatus } from '../api/stream';
import type { Health } from '../api/types';
import type { Loadable } from './loadable';
import type { Slice, StoreDeps } from './store';

export type ConnectionState = 'live' | 'connecting' | 'reconnecting' | 'offline';

export type LinkState = 'up' | 'interrupted' | 'down';

export interface AmsLink {
  state: LinkState;
  /** The last moment the console's data was known to be current (epoch ms); null while up. */
  since: number | null;
  /** Why, in a few words (the stream's reason, or that the AMS does not answer). */
  reason: string | null;
}

export interface ConnectionSlice {
  stream: StreamStatus;
  amsReachable: boolean;
  health: Loadable<Health>;
  link: AmsLink;
  setStream(status: StreamStatus): void;
  setReachable(reachable: boolean): void;
  loadHealth(): Promise<void>;
}

/** A stream that is not live for this long (and did not come back) makes the link interrupted; shorter drops (a token renewal) do not show. */
export const INTERRUPTED_AFTER_MS = 1500;

/**
 * What the connection badge shows: offline only when the AMS does not answer HTTP at all;
 * while it answers, a stream that keeps failing is still reconnecting.
 */
export function connectionState(s: Pick<ConnectionSlice, 'stream' | 'amsReachable'>): ConnectionState {
  if (!s.amsReachable) return 'offline';
  return s.stream.state === 'offline' ? 'reconnecting' : s.stream.state;
}

export const UP: AmsLink = { state: 'up', since: null, reason: null };

/**
 * The link from its inputs. `streamDownSince` is when the stream left `live` (null while live
 * or before it ever was), `graceOver` whether it has been down for INTERRUPTED_AFTER_MS.
 */
export function linkState(
  prev: AmsLink,
  inputs: { reachable: boolean; stream: StreamStatus; streamDownSince: number | null; graceOver: boolean; now: number },
): AmsLink {
  const { reachable, stream, streamDownSince, graceOver, now } = inputs;
  if (!reachable) {
    return { state: 'down', since: prev.since ?? streamDownSince ?? now, reason: 'the AMS does not answer' };
  }
  if (streamDownSince !== null && graceOver) {
    return { state: 'interrupted', since: prev.since ?? streamDownSince, reason: stream.reason ?? 'the live stream stopped' };
  }
  if (streamDownSince === null) return prev.state === 'up' ? prev : UP;
  // Down for less than the grace: keep what was shown (usually up).
  return prev;
}

export const connectionSlice =
  ({ client, now = Date.now, schedule = (fn, ms) => setTimeout(fn, ms), cancel = (t) => clearTimeout(t as ReturnType<typeof setTimeout>) }: StoreDeps): Slice<ConnectionSlice> =>
  (set, get) => {
    let everLive = false;
    let streamDownSince: number | null = null;
    let graceOver = false;
    let grace: unknown = null;
    let probing = false;

    const evaluate = () => {
      const s = get();
      const next = linkState(s.link, { reachable: s.amsReachable, stream: s.stream, streamDownSince, graceOver, now: now() });
      if (next !== s.link && (next.state !== s.link.state || next.since !== s.link.since || next.reason !== s.link.reason)) set({ link: next });
    };

    /** Whether the AMS still answers at all when the stream drops: one health request tells. */
    const probe = () => {
      if (probing) return;
      probing = true;
      void get()
        .loadHealth()
        .finally(() => (probing = false));
    };

    return {
      stream: { state: 'connecting', attempt: 0, retryAt: null, reason: null },
      amsReachable: true,
      health: { status: 'idle' },
      link: UP,
      setStream: (stream) => {
        set({ stream });
        if (stream.state === 'live') {
          everLive = true;
          streamDownSince = null;
          graceOver = false;
          if (grace !== null) cancel(grace);
          grace = null;
        } else if (everLive && (stream.state === 'reconnecting' || stream.state === 'offline')) {
          if (streamDownSince === null) {
            streamDownSince = now();
            grace = schedule(() => {
              grace = null;
              graceOver = true;
              evaluate();
            }, INTERRUPTED_AFTER_MS);
          }
          probe();
        }
        evaluate();
      },
      setReachable: (amsReachable) => {
        if (get().amsReachable !== amsReachable) set({ amsReachable });
        evaluate();
      },
      async loadHealth() {
        set({ health: { status: 'loading', data: get().health.data } });
        try {
          set({ health: { status: 'ready', data: await client.health() } });
        } catch (error) {
          set({ health: { status: 'error', error, data: get().health.data } });
        }
      },
    };
  };
