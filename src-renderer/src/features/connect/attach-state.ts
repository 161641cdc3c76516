// What the console says about an attach profile's AMS URLs: which one it is on, out of how many,
// and when and why it last failed over. Pure, so the wording is tested without the desktop app.
import type { AttachState } from '../../desktop-bridge';
import { compactDateTime, shortDuration } from '../common/format';

export interface AttachSummary {
  /** The URL in use. */
  url: string;
  /** "URL 2 of 3"; null for a profile of one URL. */
  position: string | null;
  /** "failed over at 12:04:33 (2 min ago) from https://a: did not answer (ECONNREFUSED)"; null before any. */
  failover: string | null;
  /** For the top bar: the host in use, and whether it is not the first. */
  short: string;
  failedOver: boolean;
}

/** How an address reads in tight places: its host and port (and path, when there is one). */
export function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return url;
  }
}

export function attachSummary(attach: AttachState | null | undefined, nowMs: number): AttachSummary | null {
  if (!attach || attach.urls.length === 0) return null;
  const url = attach.urls[attach.current] ?? attach.urls[0]!;
  const f = attach.failover;
  return {
    url,
    position: attach.urls.length > 1 ? `URL ${attach.current + 1} of ${attach.urls.length}` : null,
    failover: f ? `failed over at ${compactDateTime(f.at, nowMs)} (${shortDuration((nowMs - f.at) / 1000)} ago) from ${f.from}: ${f.reason}` : null,
    short: shortUrl(url),
    failedOver: f !== null,
  };
}

/** The text a new-profile form's URL box becomes: one URL per line (or separated by spaces or commas), blanks dropped. */
export function parseUrlList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter((u) => u !== '');
}
