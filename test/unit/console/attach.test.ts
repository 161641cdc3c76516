// Attach failover as the console shows it: which URL it is on, out of how many, and when and why it
// failed over; the new-profile form's URL box; and when a live stream that does not come back on
// one URL is reported to the desktop app (so the profile fails over).
import { describe, expect, it } from 'vitest';
import { attachSummary, parseUrlList, shortUrl } from '../../../src-renderer/src/features/connect/attach-state';
import { createStreamWatch } from '../../../src-renderer/src/api/stream-watch';
import type { StreamStatus } from '../../../src-renderer/src/api/stream';

const [A, B, C] = ['https://ams-a.example:8470', 'https://ams-b.example:8470', 'https://ams-c.example'];

describe('the console on an attach profile with several URLs', () => {
  const now = Date.parse('2026-03-04T10:05:00');
  it('says which URL it is on, out of how many, and when and why it failed over', () => {
    expect(attachSummary(null, now)).toBeNull();
    expect(attachSummary({ urls: [A], current: 0, failover: null }, now)).toMatchObject({ url: A, position: null, failover: null, failedOver: false });
    const s = attachSummary({ urls: [A, B], current: 1, failover: { from: A, to: B, at: Date.parse('2026-03-04T10:03:00'), reason: 'did not answer (ECONNREFUSED)' } }, now);
    expect(s).toEqual({
      url: B,
      position: 'URL 2 of 2',
      failover: `failed over at 10:03:00 (2 min ago) from ${A}: did not answer (ECONNREFUSED)`,
      short: 'ams-b.example:8470',
      failedOver: true,
    });
    expect(shortUrl('https://ams.example/opmas')).toBe('ams.example/opmas');
  });

  it('reads the URL box one per line (or separated by spaces or commas), blanks dropped, order kept', () => {
    expect(parseUrlList(`${A}\n\n  ${B} ,${C}\n`)).toEqual([A, B, C]);
    expect(parseUrlList('   ')).toEqual([]);
  });

  it('reports a stream that does not come back on one URL once, after three failed connections there; a new URL starts over; a refused token is not counted', () => {
    const watch = createStreamWatch(3);
    const failed = (attempt: number, reason = 'live stream unavailable'): StreamStatus => ({ state: attempt >= 3 ? 'offline' : 'reconnecting', attempt, retryAt: 1, reason });
    watch.connecting(`${A}/api/v1/agents/ws`);
    expect(watch.status({ state: 'live', attempt: 0, retryAt: null, reason: null })).toBeNull();
    expect(watch.status(failed(1, 'live stream dropped'))).toBeNull();
    expect(watch.status(failed(2, 'unauthenticated'))).toBeNull();
    expect(watch.status(failed(3))).toBeNull();
    expect(watch.status(failed(4))).toEqual({ url: `${A}/api/v1/agents/ws`, attempts: 3 });
    expect(watch.status(failed(5))).toBeNull();
    // Failed over: the next URL gets its own three tries.
    watch.connecting(`${B}/api/v1/agents/ws`);
    expect(watch.status(failed(6))).toBeNull();
    expect(watch.status(failed(7))).toBeNull();
    expect(watch.status(failed(8))).toEqual({ url: `${B}/api/v1/agents/ws`, attempts: 3 });
    // Live again: counting starts over on the same URL.
    expect(watch.status({ state: 'live', attempt: 0, retryAt: null, reason: null })).toBeNull();
    for (let i = 1; i < 3; i++) expect(watch.status(failed(i))).toBeNull();
    expect(watch.status(failed(3))).toEqual({ url: `${B}/api/v1/agents/ws`, attempts: 3 });
  });
});
