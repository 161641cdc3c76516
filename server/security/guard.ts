// The route guard: authenticates and authorizes each request against the permission its
// route declares (object-level for agent-bound principals), applies the login rate limits,
// and writes the audit row for every mutating request and every denial.
import type { Context } from 'koa';
import type { RouteGuard, RouteSpec } from '../http/route.js';
import type { AuditService } from './audit.js';
import { auditContext } from './audit.js';
import { Forbidden, Unauthenticated } from './errors.js';
import type { Principal } from './principal.js';
import type { RateLimits } from './rate-limits.js';
import type { SessionService } from './sessions.js';

/** What a handler may add to its audit row. */
export interface AuditNote {
  target?: string;
  before?: unknown;
  after?: unknown;
  details?: Record<string, unknown>;
  /** Who an unauthenticated request claims to be (the username of a login). */
  actorName?: string;
}

export function noteAudit(ctx: Context, note: AuditNote): void {
  ctx.state.audit = { ...(ctx.state.audit as AuditNote | undefined), ...note };
}

export function principalOf(ctx: Context): Principal | undefined {
  return ctx.state.principal as Principal | undefined;
}

export function requirePrincipal(ctx: Context): Principal {
  const p = principalOf(ctx);
  if (!p) throw new Unauthenticated();
  return p;
}

export function createRouteGuard(deps: { sessions: SessionService; audit: AuditService; limits: RateLimits }): RouteGuard {
  return {
    async before(ctx: Context, spec: RouteSpec): Promise<void> {
      // An address past the failed-authentication limit gets 429 before any credential is looked at.
      if (spec.rateLimit !== 'health') deps.limits.assertNotBlocked(ctx.ip);
      if (spec.rateLimit === 'auth') {
        const username = (ctx.request as { body?: { username?: unknown } }).body?.username;
        await deps.limits.consumeLogin(ctx.ip, typeof username === 'string' ? username : undefined);
      }
      if (spec.permission === 'public') return;
      if (spec.allowDiscoveryToken && typeof (ctx.request as { body?: { discovery_token?: unknown } }).body?.discovery_token === 'string') {
        await deps.limits.consumeLogin(ctx.ip, undefined);
        return;
      }
      const principal = await deps.sessions.authenticate(ctx.get('Authorization') || undefined);
      if (!principal) throw new Unauthenticated();
      ctx.state.principal = principal;
      if (spec.permission === 'authenticated') return;
      if (!principal.permissions.has(spec.permission)) {
        throw new Forbidden(`Role ${JSON.stringify(principal.role)} lacks the permission ${spec.permission}`, { required: spec.permission });
      }
      if (principal.agentId !== undefined) {
        const target = (ctx.params as Record<string, string> | undefined)?.id;
        if (!spec.agentScoped || target !== principal.agentId) {
          throw new Forbidden('This principal is bound to one agent and may access only that agent', { agent_id: principal.agentId });
        }
      }
    },

    /** Counts a failed authentication (a 401 for credentials that were given); past the limit, answers 429 instead. */
    async failed(ctx: Context, _spec: RouteSpec, error: unknown): Promise<unknown> {
      const e = error as { status?: unknown; code?: unknown };
      // `unauthenticated` is a request without credentials: nothing was guessed.
      if (e?.status !== 401 || e.code === 'unauthenticated') return undefined;
      const limited = await deps.limits.recordAuthFailure(ctx.ip);
      if (limited) noteAudit(ctx, { details: { auth_error: typeof e.code === 'string' ? e.code : null } });
      return limited;
    },

    async after(ctx: Context, spec: RouteSpec, outcome: { status: number; error?: unknown }): Promise<void> {
      if (spec.method === 'get' && outcome.status !== 403) return;
      const note = (ctx.state.audit as AuditNote | undefined) ?? {};
      const principal = principalOf(ctx);
      const base = auditContext(ctx, principal);
      const code = (outcome.error as { code?: unknown } | undefined)?.code;
      const params = (ctx.params ?? {}) as Record<string, string>;
      await deps.audit.record({
        ...base,
        actor_name: base.actor_name ?? note.actorName ?? null,
        action: spec.action ?? spec.operationId,
        target: note.target ?? params.id ?? params.name ?? null,
        before: note.before,
        after: note.after,
        result: outcome.status < 400 ? 'success' : [401, 403, 429].includes(outcome.status) ? 'denied' : 'failure',
        status: outcome.status,
        details: { ...(typeof code === 'string' ? { error: code } : {}), ...note.details, method: ctx.method, path: ctx.path },
      });
    },
  };
}
