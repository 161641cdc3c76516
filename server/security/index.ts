// The security layer as one piece: sessions, identities, audit, rate limits and the route
// guard, built from the database and the settings. app.ts requires it; only benchmark
// harnesses compose an app without it.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { createAuditService } from './audit.js';
import { createSecurityCache } from './cache.js';
import { createRouteGuard } from './guard.js';
import { createIdentityService } from './identities.js';
import { createRateLimits, type RateLimitSettings } from './rate-limits.js';
import { createSessionService, type SessionSettings } from './sessions.js';
import { parseTrustedProxies, type TrustedProxies } from './client-address.js';

export type Security = ReturnType<typeof createSecurity>;

export function createSecurity(deps: {
  db: Database;
  logger: Logger;
  sessions: SessionSettings;
  limits: RateLimitSettings;
  /** Proxies whose X-Forwarded-For entries name the client (--trust-proxy). */
  trustedProxies?: TrustedProxies;
  corsOrigins: string[];
  announce: (line: string, facts?: { setupToken?: string }) => void;
}) {
  const cache = createSecurityCache(deps.db);
  const audit = createAuditService({ db: deps.db, logger: deps.logger });
  const sessions = createSessionService({ db: deps.db, logger: deps.logger, cache, settings: deps.sessions, announce: deps.announce });
  const identities = createIdentityService({ db: deps.db, cache });
  const limits = createRateLimits(deps.limits, { db: deps.db, logger: deps.logger });
  return {
    sessions,
    identities,
    audit,
    limits,
    corsOrigins: deps.corsOrigins,
    trustedProxies: deps.trustedProxies ?? parseTrustedProxies(undefined),
    guard: createRouteGuard({ sessions, audit, limits }),
  };
}
