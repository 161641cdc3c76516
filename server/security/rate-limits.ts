// Rate limits (OWASP API4), all built on rate-limiter-flexible:
// - login and setup attempts, per client address and per username, and failed authentications
//   per client address: counted in the database (the `rate_limits` table), so the limits hold
//   for a cluster of replicas, not per replica. While the database cannot be reached each
//   replica counts in memory instead (the insurance limiter), with the same limits;
// - the general API, per bearer token (or per address without one): in memory, per replica
//   (a database write per request would cost more than the request; see README);
// - /api/v1/health and the Prometheus /metrics: their own, much higher, per-address limit,
//   so that a flood of API calls from one address cannot blind health checks.
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Database } from '../db/database.js';
import { createSharedLimiter, pruneRateLimits } from '../db/rate-limit-store.js';
import { RateLimited } from './errors.js';

export interface RateLimitSettings {
  /** Login/setup attempts per minute, per address and per username. */
  loginPerMinute: number;
  /** API requests per minute per token (or address). */
  apiPerMinute: number;
  /** Failed authentications (invalid bearer token, password, refresh token, ...) per minute per client address. */
  authFailuresPerMinute: number;
  /** Requests per minute per address to /api/v1/health and /metrics. */
  healthPerMinute: number;
  /**
   * Counts the per-token API limit in the database too (for the API benchmark, which measures
   * what that would cost; the product keeps it in memory, see the README).
   */
  apiInDatabase?: boolean;
}

/** Paths with the health limit instead of the API limit (after API version rewriting). */
export const HEALTH_PATHS: ReadonlySet<string> = new Set(['/api/v1/health', '/metrics']);

/** A store call slower than this counts as the store being unavailable (the insurance limiter answers). */
const STORE_TIMEOUT_MS = 1500;
/** After a store failure, the insurance limiter answers alone for this long before the store is tried again. */
const STORE_RETRY_MS = 5000;
const PRUNE_EVERY_MS = 10 * 60_000;

export type RateLimits = ReturnType<typeof createRateLimits>;

function rejection(err: unknown): RateLimited | undefined {
  return err instanceof RateLimiterRes ? new RateLimited(err.msBeforeNext / 1000) : undefined;
}

async function consume(limiter: { consume(key: string): Promise<unknown> }, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    throw rejection(err) ?? err;
  }
}

/** Store keys are varchar(255): long user-chosen parts (usernames) are hashed. */
const storeKey = (key: string) => (key.length <= 128 ? key : `sha256:${createHash('sha256').update(key).digest('base64url')}`);

export function createRateLimits(settings: RateLimitSettings, deps: { db?: Database; logger?: Logger } = {}) {
  let storeDownUntil = 0;
  let pruneTimer: NodeJS.Timeout | undefined;

  /**
   * A limiter counted in the database when there is one, else (and while the database does not
   * answer) in this process's memory with the same limits.
   */
  function shared(keyPrefix: string, points: number) {
    const insurance = new RateLimiterMemory({ keyPrefix, points, duration: 60 });
    const store = deps.db ? createSharedLimiter(deps.db, { keyPrefix, points, durationS: 60 }) : undefined;
    return {
      async consume(key: string): Promise<void> {
        const k = storeKey(key);
        if (!store || Date.now() < storeDownUntil) return consume(insurance, k);
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            store.consume(k),
            new Promise((_resolve, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS);
            }),
          ]);
        } catch (err) {
          const limited = rejection(err);
          if (limited) throw limited;
          storeDownUntil = Date.now() + STORE_RETRY_MS;
          deps.logger?.warn({ limiter: keyPrefix, reason: (err as Error).message }, 'rate-limit store unavailable; counting in memory on this replica for now');
          await consume(insurance, k);
        } finally {
          clearTimeout(timer);
        }
      },
    };
  }

  const loginByIp = shared('login-ip', settings.loginPerMinute);
  const loginByUser = shared('login-user', settings.loginPerMinute);
  const authFailures = shared('auth-fail', settings.authFailuresPerMinute);
  const api = settings.apiInDatabase ? shared('api', settings.apiPerMinute) : new RateLimiterMemory({ keyPrefix: 'api', points: settings.apiPerMinute, duration: 60 });
  const health = new RateLimiterMemory({ keyPrefix: 'health', points: settings.healthPerMinute, duration: 60 });
  // Addresses past the failed-authentication limit, until their window ends: refused here without
  // a database round trip (each further failure is still counted in the shared store first).
  const blocked = new Map<string, number>();

  return {
    async consumeLogin(ip: string, username: string | undefined): Promise<void> {
      await loginByIp.consume(ip);
      if (username) await loginByUser.consume(username.toLowerCase());
    },

    /** 429 when this address is past the failed-authentication limit (checked before authenticating). */
    assertNotBlocked(ip: string): void {
      const until = blocked.get(ip);
      if (until === undefined) return;
      if (until > Date.now()) throw new RateLimited((until - Date.now()) / 1000);
      blocked.delete(ip);
    },

    /**
     * Counts a failed authentication from `ip`. Answers the 429 to send instead of the 401 once
     * the address is past the limit, else undefined.
     */
    async recordAuthFailure(ip: string): Promise<RateLimited | undefined> {
      try {
        await authFailures.consume(ip);
        return undefined;
      } catch (err) {
        if (!(err instanceof RateLimited)) throw err;
        if (blocked.size >= 100_000) blocked.clear();
        blocked.set(ip, Date.now() + err.retryAfterS * 1000);
        return err;
      }
    },

    /** Koa middleware: one point per request, keyed by the bearer token's hash or the address; health has its own limit. */
    middleware() {
      return async function limitRequests(ctx: Context, next: Next): Promise<void> {
        if (HEALTH_PATHS.has(ctx.path)) {
          await consume(health, ctx.ip);
        } else if (ctx.path.startsWith('/api/')) {
          const auth = ctx.get('Authorization');
          const key = auth ? createHash('sha256').update(auth).digest('base64url').slice(0, 22) : `ip:${ctx.ip}`;
          await consume(api, key);
        }
        await next();
      };
    },

    /** Starts pruning expired counters from the shared store. */
    start(): void {
      if (!deps.db || pruneTimer) return;
      const db = deps.db;
      pruneTimer = setInterval(() => void pruneRateLimits(db).catch(() => undefined), PRUNE_EVERY_MS);
      pruneTimer.unref();
    },
    stop(): void {
      clearInterval(pruneTimer);
      pruneTimer = undefined;
    },
  };
}
