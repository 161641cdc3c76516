// Rate limits (OWASP API4): login and setup per source address and per username, and the
// general API per bearer token (or per address without one). In memory, per AMS process.
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimited } from './errors.js';

export interface RateLimitSettings {
  /** Login/setup attempts per minute, per address and per username. */
  loginPerMinute: number;
  /** API requests per minute per token (or address). */
  apiPerMinute: number;
}

export type RateLimits = ReturnType<typeof createRateLimits>;

async function consume(limiter: RateLimiterMemory, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (res) {
    if (res instanceof RateLimiterRes) throw new RateLimited(res.msBeforeNext / 1000);
    throw res;
  }
}

export function createRateLimits(settings: RateLimitSettings) {
  const loginByIp = new RateLimiterMemory({ keyPrefix: 'login-ip', points: settings.loginPerMinute, duration: 60 });
  const loginByUser = new RateLimiterMemory({ keyPrefix: 'login-user', points: settings.loginPerMinute, duration: 60 });
  const api = new RateLimiterMemory({ keyPrefix: 'api', points: settings.apiPerMinute, duration: 60 });
  return {
    async consumeLogin(ip: string, username: string | undefined): Promise<void> {
      await consume(loginByIp, ip);
      if (username) await consume(loginByUser, username.toLowerCase());
    },
    /** Koa middleware for /api: one point per request, keyed by the bearer token's hash or the address. */
    middleware() {
      return async function limitApi(ctx: Context, next: Next): Promise<void> {
        if (ctx.path.startsWith('/api/')) {
          const auth = ctx.get('Authorization');
          const key = auth ? createHash('sha256').update(auth).digest('base64url').slice(0, 22) : `ip:${ctx.ip}`;
          await consume(api, key);
        }
        await next();
      };
    },
  };
}
