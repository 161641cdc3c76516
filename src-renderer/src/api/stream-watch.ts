// When the live stream to one AMS URL has dropped and not come back: the desktop app is told,
// so an attach profile with several URLs fails over. Counts the stream's failed attempts per URL
// (a new URL starts over), and only failures of the connection itself, not a refused token.
import type { StreamStatus } from './stream';

/** Failed attempts on one URL after which the stream counts as not coming back. */
export const STREAM_DOWN_AFTER = 3;

// What the stream reports when the connection itself failed (stream.ts): no close frame, no reason.
const CONNECTION_LOST = new Set(['live stream dropped', 'live stream unavailable', 'could not open the stream']);

export interface StreamWatch {
  /** The stream is about to connect to `url`. */
  connecting(url: string): void;
  /** The stream's status changed: the URL to report (once) with its failed attempts, or null. */
  status(s: StreamStatus): { url: string; attempts: number } | null;
}

export function createStreamWatch(threshold = STREAM_DOWN_AFTER): StreamWatch {
  let url: string | null = null;
  let failures = 0;
  let reported = false;
  return {
    connecting(next) {
      if (next === url) return;
      url = next;
      failures = 0;
      reported = false;
    },
    status(s) {
      if (s.state === 'live') {
        failures = 0;
        reported = false;
        return null;
      }
      if ((s.state !== 'reconnecting' && s.state !== 'offline') || s.attempt === 0 || !s.reason || !CONNECTION_LOST.has(s.reason) || url === null) return null;
      failures += 1;
      if (failures < threshold || reported) return null;
      reported = true;
      return { url, attempts: failures };
    },
  };
}
