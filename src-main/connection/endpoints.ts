// An attach profile's AMS URLs (replicas of one cluster, in order) and which one the console is
// on: when the current one stops answering the console moves to the next (after the last, back
// to the first) and remembers from where, when and why. Also which failures count as "stopped
// answering", and a call that fails over and tries again where that is safe.
import type { AttachState, Failover } from '../../src-preload/console-api.js';

/** Why a URL counts as not answering, and whether the request surely never reached an AMS there. */
export interface Unreachable {
  reason: string;
  /** True when no AMS can have acted on the request (nothing was connected): any call may be sent again elsewhere. */
  notSent: boolean;
}

// Connection errors of Node's fetch (undici) that happen before a byte of the request is sent.
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** A fetch that threw: the URL did not answer. */
export function networkFailure(err: unknown): Unreachable {
  const e = err as Error & { cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return { reason: 'did not answer in time', notSent: false };
  const code = e?.cause?.code ?? e?.cause?.name ?? e?.name ?? 'error';
  return { reason: `did not answer (${code})`, notSent: NOT_SENT.has(code) };
}

/**
 * An answer that is not the AMS's: a 502, 503 or 504 without the AMS's JSON body comes from a
 * proxy or load balancer in front of it whose AMS is gone. The AMS's own 503 (JSON: its database
 * or broker is unavailable, or it is migrating) is not a reason to move: every replica shares
 * that database, and the answer says it is alive.
 */
export function gatewayFailure(status: number, contentType: string | null): Unreachable | null {
  if (status !== 502 && status !== 503 && status !== 504) return null;
  if ((contentType ?? '').toLowerCase().includes('application/json')) return null;
  // A 503 from a load balancer means it had no AMS to send the request to.
  return { reason: `answered ${status} from a proxy in front of it`, notSent: status === 503 };
}

/** Whether an AMS answers at `baseUrl` (GET /api/v1/health, any answer of its own): null when it does, else why not. */
export async function probeAms(baseUrl: string, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<Unreachable | null> {
  const doFetch = opts.fetch ?? fetch;
  try {
    const res = await doFetch(`${baseUrl}/api/v1/health`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000), redirect: 'manual' });
    await res.body?.cancel().catch(() => undefined);
    return gatewayFailure(res.status, res.headers.get('content-type'));
  } catch (err) {
    return networkFailure(err);
  }
}

export interface Endpoints {
  /** The URL in use. */
  current(): string;
  state(): AttachState;
  /**
   * `url` stopped answering: when it is the current one and there is another, moves to the next
   * and answers true. A report about a URL already left (several requests failing at once) or
   * about the only URL changes nothing.
   */
  fail(url: string, reason: string): boolean;
  onChange(listener: (state: AttachState) => void): () => void;
}

export function createEndpoints(urls: readonly string[], opts: { now?: () => number } = {}): Endpoints {
  if (urls.length === 0) throw new Error('an attach profile has at least one URL');
  const now = opts.now ?? Date.now;
  const list = [...urls];
  const listeners = new Set<(state: AttachState) => void>();
  let index = 0;
  let failover: Failover | null = null;
  const state = (): AttachState => ({ urls: [...list], current: index, failover: failover && { ...failover } });
  return {
    current: () => list[index]!,
    state,
    fail(url, reason) {
      if (list.length < 2 || url !== list[index]) return false;
      const from = list[index]!;
      index = (index + 1) % list.length;
      failover = { from, to: list[index]!, at: now(), reason };
      const snapshot = state();
      for (const l of listeners) l(snapshot);
      return true;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export interface FailoverCall<T> {
  /** Makes the call against one base URL. */
  attempt(baseUrl: string): Promise<T>;
  /** Whether the error means the URL did not answer (and how); null for any other failure. */
  unreachable(err: unknown): Unreachable | null;
  /**
   * Whether the call may be sent again to the next URL when the first one may have acted on it
   * (idempotent reads, a login). A refresh may not: it rotates its token once, and a second use
   * would end the session; it is retried elsewhere only when it surely never arrived.
   */
  resend: boolean;
  /** The error to throw when more than one URL did not answer (to name them all); default: the last one's. */
  giveUp?(last: unknown, failures: string[]): unknown;
}

/** Runs the call on the current URL; where it does not answer, fails over and tries the next ones, each once. */
export async function withFailover<T>(endpoints: Endpoints, call: FailoverCall<T>): Promise<T> {
  const tried = new Set<string>();
  const failures: string[] = [];
  for (;;) {
    const url = endpoints.current();
    tried.add(url);
    try {
      return await call.attempt(url);
    } catch (error) {
      const why = call.unreachable(error);
      if (!why) throw error;
      failures.push(`${url} ${why.reason}`);
      endpoints.fail(url, why.reason);
      const next = endpoints.current();
      if (tried.has(next) || !(why.notSent || call.resend)) throw failures.length > 1 && call.giveUp ? call.giveUp(error, failures) : error;
    }
  }
}
