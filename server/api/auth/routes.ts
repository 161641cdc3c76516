// /auth: login, refresh, logout, me, first-run setup and the desktop app's host session.
import { HOST_USER, type SessionService } from '../../security/sessions.js';
import { noteAudit, requirePrincipal } from '../../security/guard.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { errorResponses } from '../common.js';
import { presentUser } from '../../security/identities.js';
import { HostSessionBody, LoginBody, LogoutBody, MeSchema, RefreshBody, SetupAnswer, SetupBody, SetupStatusSchema, TokenPairSchema } from './schema.js';

export function authRoutes({ sessions }: { sessions: SessionService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      permission: 'public',
      rateLimit: 'auth',
      action: 'auth.login',
      summary: 'Exchange a username and password for an access token and a refresh token',
      tags: ['auth'],
      body: LoginBody,
      responses: { 200: { description: 'Tokens', schema: TokenPairSchema }, ...errorResponses(400, 401, 429) },
      handler: async (ctx, { body }) => {
        noteAudit(ctx, { actorName: body.username, target: `user:${body.username}` });
        return sessions.login(body.username, body.password);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/refresh',
      operationId: 'refreshSession',
      permission: 'public',
      action: 'auth.refresh',
      summary: 'Rotate a refresh token into a new token pair; a reused refresh token revokes its whole family',
      tags: ['auth'],
      body: RefreshBody,
      responses: { 200: { description: 'Tokens', schema: TokenPairSchema }, ...errorResponses(400, 401, 429) },
      handler: (ctx, { body }) => sessions.refresh(body.refresh_token, (user) => noteAudit(ctx, { actorName: user.username, target: `user:${user.username}` })),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      permission: 'public',
      action: 'auth.logout',
      summary: 'Revoke the current access token and the refresh token family',
      tags: ['auth'],
      body: LogoutBody,
      status: 204,
      responses: { 204: { description: 'Revoked' }, ...errorResponses(400, 401) },
      handler: async (ctx, { body }) => {
        // Logging out with an expired access token still revokes the refresh family.
        const principal = await sessions.authenticate(ctx.get('Authorization') || undefined).catch(() => undefined);
        if (principal) ctx.state.principal = principal;
        await sessions.logout(principal, body?.refresh_token);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/auth/me',
      operationId: 'getMe',
      permission: 'authenticated',
      summary: 'Who the bearer token belongs to, and what it may do',
      tags: ['auth'],
      responses: { 200: { description: 'The principal', schema: MeSchema }, ...errorResponses(401) },
      handler: (ctx) => {
        const p = requirePrincipal(ctx);
        return { id: p.id, username: p.name, type: p.type, role: p.role, permissions: [...p.permissions].sort(), agent_id: p.agentId ?? null };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/auth/setup',
      operationId: 'getSetupStatus',
      permission: 'public',
      summary: 'Whether the AMS waits for its first admin, so the console can open on the setup form (only a boolean; rate-limited per address)',
      tags: ['auth'],
      responses: { 200: { description: 'Whether setup is pending', schema: SetupStatusSchema }, ...errorResponses(429) },
      handler: async () => ({ setup_required: await sessions.setupPending() }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/setup',
      operationId: 'setup',
      permission: 'public',
      rateLimit: 'auth',
      action: 'auth.setup',
      summary: 'Create the first admin with the one-time setup token the AMS printed',
      tags: ['auth'],
      body: SetupBody,
      status: 201,
      responses: { 201: { description: 'The admin and its tokens', schema: SetupAnswer }, ...errorResponses(400, 401, 403, 409, 429) },
      handler: async (ctx, { body }) => {
        noteAudit(ctx, { actorName: body.username, target: `user:${body.username}` });
        const { user, tokens } = await sessions.setup(body.token, body.username, body.password);
        return { user: presentUser(user), ...tokens };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/host-session',
      operationId: 'hostSession',
      permission: 'public',
      rateLimit: 'auth',
      action: 'auth.host_session',
      summary: "The desktop app's host mode: an admin session for the per-launch secret",
      tags: ['auth'],
      body: HostSessionBody,
      responses: { 200: { description: 'Tokens', schema: TokenPairSchema }, ...errorResponses(400, 401, 403, 429) },
      handler: (ctx, { body }) => {
        noteAudit(ctx, { actorName: HOST_USER });
        return sessions.hostSession(body.secret);
      },
    }),
  ];
}
