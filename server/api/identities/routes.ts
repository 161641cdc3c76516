// /users, /roles, /tokens (admin side of RBAC) and /audit.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AUDIT_CSV_COLUMNS, auditCsvRow, type AuditService } from '../../security/audit.js';
import type { IdentityService } from '../../security/identities.js';
import { noteAudit, requirePrincipal } from '../../security/guard.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { decodeCursor } from '../../http/cursor.js';
import { errorResponses } from '../common.js';
import {
  ApiTokenPage, ApiTokenSchema, AuditExportQuery, AuditPage, AuditQuery, CreateRoleBody, CreateTokenBody, CreateUserBody, NewApiTokenSchema, RoleList, RoleParams,
  RoleSchema, UpdateRoleBody, UpdateUserBody, UserIdParams, UserPage, UserSchema, UsersQuery,
} from '../auth/schema.js';

const UserCursor = z.object({ u: z.string() });
const TimeIdCursor = z.object({ c: z.string(), i: z.string() });
const AuditCursor = z.object({ t: z.string(), i: z.number().int() });

export function identityRoutes({ identities, audit }: { identities: IdentityService; audit: AuditService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/users', operationId: 'listUsers', permission: 'users:admin', summary: 'List users', tags: ['users'],
      query: UsersQuery,
      responses: { 200: { description: 'A page of users', schema: UserPage }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) => identities.listUsers(query.limit, query.cursor ? decodeCursor(query.cursor, UserCursor).u : undefined),
    }),
    defineRoute({
      method: 'post', path: '/users', operationId: 'createUser', permission: 'users:admin', action: 'user.create', summary: 'Create a user', tags: ['users'],
      body: CreateUserBody, status: 201,
      responses: { 201: { description: 'The user', schema: UserSchema }, ...errorResponses(400, 401, 403, 409) },
      handler: async (ctx, { body }) => {
        const user = await identities.createUser(body);
        noteAudit(ctx, { target: `user:${user.username}`, after: { username: user.username, role: user.role, agent_id: user.agent_id } });
        return user;
      },
    }),
    defineRoute({
      method: 'get', path: '/users/{id}', operationId: 'getUser', permission: 'users:admin', summary: 'Read a user', tags: ['users'],
      params: UserIdParams,
      responses: { 200: { description: 'The user', schema: UserSchema }, ...errorResponses(401, 403, 404) },
      handler: (_ctx, { params }) => identities.getUser(params.id),
    }),
    defineRoute({
      method: 'put', path: '/users/{id}', operationId: 'updateUser', permission: 'users:admin', action: 'user.update',
      summary: "Change a user's password, role, agent binding or state; revokes its sessions", tags: ['users'],
      params: UserIdParams, body: UpdateUserBody,
      responses: { 200: { description: 'The user', schema: UserSchema }, ...errorResponses(400, 401, 403, 404, 409) },
      handler: async (ctx, { params, body }) => {
        const { before, after } = await identities.updateUser(params.id, body);
        const view = (u: typeof before) => ({ role: u.role, agent_id: u.agent_id, disabled: u.disabled });
        noteAudit(ctx, { target: `user:${after.username}`, before: view(before), after: view(after), details: { password_changed: body.password !== undefined } });
        return after;
      },
    }),
    defineRoute({
      method: 'delete', path: '/users/{id}', operationId: 'deleteUser', permission: 'users:admin', action: 'user.delete', summary: 'Delete a user', tags: ['users'],
      params: UserIdParams, status: 204,
      responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 409) },
      handler: async (ctx, { params }) => {
        const user = await identities.deleteUser(params.id);
        noteAudit(ctx, { target: `user:${user.username}`, before: { username: user.username, role: user.role } });
      },
    }),
    defineRoute({
      method: 'get', path: '/roles', operationId: 'listRoles', permission: 'users:admin', summary: 'Built-in and custom roles', tags: ['roles'],
      responses: { 200: { description: 'Every role', schema: RoleList }, ...errorResponses(401, 403) },
      handler: async () => ({ items: await identities.listRoles(), next_cursor: null }),
    }),
    defineRoute({
      method: 'post', path: '/roles', operationId: 'createRole', permission: 'users:admin', action: 'role.create', summary: 'Create a custom role', tags: ['roles'],
      body: CreateRoleBody, status: 201,
      responses: { 201: { description: 'The role', schema: RoleSchema }, ...errorResponses(400, 401, 403, 409) },
      handler: async (ctx, { body }) => {
        const role = await identities.createRole(body);
        noteAudit(ctx, { target: `role:${role.name}`, after: role });
        return role;
      },
    }),
    defineRoute({
      method: 'get', path: '/roles/{name}', operationId: 'getRole', permission: 'users:admin', summary: 'Read a role', tags: ['roles'],
      params: RoleParams,
      responses: { 200: { description: 'The role', schema: RoleSchema }, ...errorResponses(401, 403, 404) },
      handler: (_ctx, { params }) => identities.getRole(params.name),
    }),
    defineRoute({
      method: 'put', path: '/roles/{name}', operationId: 'updateRole', permission: 'users:admin', action: 'role.update', summary: 'Change a custom role', tags: ['roles'],
      params: RoleParams, body: UpdateRoleBody,
      responses: { 200: { description: 'The role', schema: RoleSchema }, ...errorResponses(400, 401, 403, 404) },
      handler: async (ctx, { params, body }) => {
        const { before, after } = await identities.updateRole(params.name, body);
        noteAudit(ctx, { target: `role:${params.name}`, before, after });
        return after;
      },
    }),
    defineRoute({
      method: 'delete', path: '/roles/{name}', operationId: 'deleteRole', permission: 'users:admin', action: 'role.delete', summary: 'Delete a custom role no one holds', tags: ['roles'],
      params: RoleParams, status: 204,
      responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 409) },
      handler: async (ctx, { params }) => {
        const role = await identities.deleteRole(params.name);
        noteAudit(ctx, { target: `role:${params.name}`, before: role });
      },
    }),
    defineRoute({
      method: 'post', path: '/tokens', operationId: 'createApiToken', permission: 'tokens:admin', action: 'token.create',
      summary: 'Create a long-lived API token for automation; the secret is in this answer only', tags: ['tokens'],
      body: CreateTokenBody, status: 201,
      responses: { 201: { description: 'The token and its secret', schema: NewApiTokenSchema }, ...errorResponses(400, 401, 403) },
      handler: async (ctx, { body }) => {
        const created = await identities.createApiToken(requirePrincipal(ctx), body);
        noteAudit(ctx, { target: `token:${created.id}`, after: { name: created.name, role: created.role, agent_id: created.agent_id, expires_at: created.expires_at } });
        return created;
      },
    }),
    defineRoute({
      method: 'get', path: '/tokens', operationId: 'listApiTokens', permission: 'tokens:admin', summary: 'API tokens, without their secrets', tags: ['tokens'],
      query: UsersQuery,
      responses: { 200: { description: 'A page of tokens', schema: ApiTokenPage }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) => {
        const after = query.cursor ? decodeCursor(query.cursor, TimeIdCursor) : undefined;
        return identities.listApiTokens(query.limit, after && { created_at: after.c, id: after.i });
      },
    }),
    defineRoute({
      method: 'delete', path: '/tokens/{id}', operationId: 'revokeApiToken', permission: 'tokens:admin', action: 'token.revoke', summary: 'Revoke an API token', tags: ['tokens'],
      params: UserIdParams,
      responses: { 200: { description: 'The revoked token', schema: ApiTokenSchema }, ...errorResponses(401, 403, 404, 409) },
      handler: async (ctx, { params }) => {
        noteAudit(ctx, { target: `token:${params.id}` });
        return identities.revokeApiToken(params.id);
      },
    }),
    defineRoute({
      method: 'get', path: '/audit', operationId: 'listAudit', permission: 'audit:read', summary: 'The audit log, newest first', tags: ['audit'],
      query: AuditQuery,
      responses: { 200: { description: 'A page of audit entries', schema: AuditPage }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) => {
        const before = query.cursor ? decodeCursor(query.cursor, AuditCursor) : undefined;
        return audit.list({
          limit: query.limit, actor: query.actor, action: query.action, target: query.target, result: query.result, from: query.from, to: query.to,
          before: before && { time: before.t, id: before.i },
        });
      },
    }),
    defineRoute({
      method: 'get', path: '/audit/export', operationId: 'exportAudit', permission: 'audit:read', tags: ['audit'],
      summary: 'Every audit entry the filters match, newest first, as NDJSON (one entry per line, as GET /audit answers them) or CSV (before, after and details as JSON cells)',
      query: AuditExportQuery,
      responses: { 200: { description: 'application/x-ndjson or text/csv, as an attachment' }, ...errorResponses(400, 401, 403) },
      handler: (ctx, { query }) => {
        const { format, ...filter } = query;
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
        ctx.attachment(`opmas-audit-${stamp}.${format}`);
        const rows = audit.all(filter);
        return Readable.from(
          (async function* () {
            if (format === 'csv') yield `${AUDIT_CSV_COLUMNS.join(',')}\r\n`;
            for await (const entry of rows) yield format === 'csv' ? `${auditCsvRow(entry)}\r\n` : `${JSON.stringify(entry)}\n`;
          })(),
        );
      },
    }),
  ];
}
