// The pure parts of attach failover in the main process: an attach profile's URLs and which one is
// in use (moving to the next, wrapping, ignoring a report about a URL already left), which failures
// count as "does not answer" (and which surely never reached an AMS), and a call that fails over
// and tries again only where that is safe. The renderer's side: test/unit/console/attach.test.ts.
import { describe, expect, it } from 'vitest';
import { createEndpoints, gatewayFailure, networkFailure, withFailover } from '../../src-main/connection/endpoints';

const [A, B, C] = ['https://ams-a.example:8470', 'https://ams-b.example:8470', 'https://ams-c.example'];

/** What Node's fetch throws when nothing listens (undici wraps the socket error as `cause`). */
const refused = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
const reset = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) });

describe('the URLs of an attach profile', () => {
  it('starts on the first, moves to the next when the one in use fails, wraps after the last, and says from where, when and why', () => {
    let t = 1_000;
    const e = createEndpoints([A, B, C], { now: () => t });
    const seen: number[] = [];
    e.onChange((s) => seen.push(s.current));
    expect(e.state()).toEqual({ urls: [A, B, C], current: 0, failover: null });
    expect(e.fail(A, 'did not answer (ECONNREFUSED)')).toBe(true);
    expect(e.current()).toBe(B);
    expect(e.state().failover).toEqual({ from: A, to: B, at: 1_000, reason: 'did not answer (ECONNREFUSED)' });
    // Ten requests that failed on A at the same moment move it once.
    for (let i = 0; i < 10; i++) expect(e.fail(A, 'did not answer (ECONNREFUSED)')).toBe(false);
    expect(e.current()).toBe(B);
    t = 2_000;
    expect(e.fail(B, 'answered 502 from a proxy in front of it')).toBe(true);
    expect(e.fail(C, 'did not answer in time')).toBe(true);
    expect(e.state()).toEqual({ urls: [A, B, C], current: 0, failover: { from: C, to: A, at: 2_000, reason: 'did not answer in time' } });
    expect(seen).toEqual([1, 2, 0]);
  });

  it('a profile of one URL never moves, and a state handed out is a copy', () => {
    const e = createEndpoints([A]);
    expect(e.fail(A, 'did not answer (ECONNREFUSED)')).toBe(false);
    expect(e.state()).toEqual({ urls: [A], current: 0, failover: null });
    const s = e.state();
    s.urls.push('https://evil.example');
    expect(e.state().urls).toEqual([A]);
    expect(() => createEndpoints([])).toThrow(/at least one URL/);
  });
});

describe('what counts as a URL that does not answer', () => {
  it('a connection refused or a name that does not resolve never reached an AMS; a reset or a timeout may have', () => {
    expect(networkFailure(refused())).toEqual({ reason: 'did not answer (ECONNREFUSED)', notSent: true });
    const dns = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) });
    expect(networkFailure(dns)).toEqual({ reason: 'did not answer (ENOTFOUND)', notSent: true });
    expect(networkFailure(reset())).toEqual({ reason: 'did not answer (UND_ERR_SOCKET)', notSent: false });
    expect(networkFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toEqual({ reason: 'did not answer in time', notSent: false });
  });

  it("a proxy's 502, 503 or 504 does; the AMS's own JSON answer, whatever its status, does not (it is alive; its database is every replica's)", () => {
    expect(gatewayFailure(502, 'text/html')).toEqual({ reason: 'answered 502 from a proxy in front of it', notSent: false });
    expect(gatewayFailure(503, null)).toEqual({ reason: 'answered 503 from a proxy in front of it', notSent: true });
    expect(gatewayFailure(504, 'text/plain; charset=utf-8')).toMatchObject({ notSent: false });
    expect(gatewayFailure(503, 'application/json; charset=utf-8')).toBeNull();
    expect(gatewayFailure(500, 'text/html')).toBeNull();
    expect(gatewayFailure(429, 'text/html')).toBeNull();
    expect(gatewayFailure(200, 'text/html')).toBeNull();
  });
});

describe('a call that fails over', () => {
  const unreachable = (err: unknown) => (err as { why?: { reason: string; notSent: boolean } }).why ?? null;
  const down = (reason: string, notSent: boolean) => Object.assign(new Error(reason), { why: { reason, notSent } });

  it('is sent to the next URL when the first does not answer, and the profile stays on the one that did', async () => {
    const e = createEndpoints([A, B, C]);
    const calls: string[] = [];
    const value = await withFailover(e, {
      attempt: async (url) => {
        calls.push(url);
        if (url === A) throw down('did not answer (ECONNREFUSED)', true);
        return `answered by ${url}`;
      },
      unreachable,
      resend: false,
    });
    expect(value).toBe(`answered by ${B}`);
    expect(calls).toEqual([A, B]);
    expect(e.current()).toBe(B);
  });

  it('is not sent again when it may have arrived and must not be repeated (a refresh), but the profile still moves', async () => {
    const e = createEndpoints([A, B]);
    const calls: string[] = [];
    const err = down('did not answer (UND_ERR_SOCKET)', false);
    await expect(withFailover(e, { attempt: async (url) => (calls.push(url), Promise.reject(err)), unreachable, resend: false })).rejects.toBe(err);
    expect(calls).toEqual([A]);
    expect(e.current()).toBe(B);
  });

  it('tries each URL once, then gives up naming them all; an answer that is an error is no reason to move', async () => {
    const e = createEndpoints([A, B, C]);
    const calls: string[] = [];
    const giveUp = (_last: unknown, failures: string[]) => new Error(`none answered: ${failures.join('; ')}`);
    await expect(withFailover(e, { attempt: async (url) => (calls.push(url), Promise.reject(down('did not answer (ECONNREFUSED)', true))), unreachable, resend: true, giveUp })).rejects.toThrow(
      `none answered: ${A} did not answer (ECONNREFUSED); ${B} did not answer (ECONNREFUSED); ${C} did not answer (ECONNREFUSED)`,
    );
    expect(calls).toEqual([A, B, C]);
    expect(e.current()).toBe(A);
    const refusedLogin = Object.assign(new Error('invalid credentials'), { status: 401 });
    await expect(withFailover(e, { attempt: async () => Promise.reject(refusedLogin), unreachable, resend: true })).rejects.toBe(refusedLogin);
    expect(e.state().current).toBe(0);
  });
});
