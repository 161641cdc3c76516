// /packages (what the scanner found, with every reason), /packages/rescan with progress,
// and /discovery-tokens (one-time registration tokens).
import { z } from 'zod';
import type { PackageService } from '../../services/packages.js';
import type { RegistrationService } from '../../services/registration.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { decodeCursor } from '../../http/cursor.js';
import { noteAudit } from '../../security/guard.js';
import { actorName, errorResponses, pageOf, paginationQuery } from '../common.js';
import { AgentType } from '../agents/schema.js';
import { ENV_DISCOVERY_EXAMPLE } from '../../agents-directory.js';

const PackageStatus = z
  .enum(['registered', 'invalid', 'conflict', 'incompatible', 'removed', 'ignored'])
  .describe('ignored: a dot-prefixed (hidden) folder, reported with the reason and never read');
export const PackageSchema = z
  .object({
    host_id: z.string().nullable().describe('The host whose supervisor found the package'),
    path: z.string(),
    agent_name: z.string().nullable(),
    agent_version: z.string().nullable(),
    agent_type: z.string().nullable(),
    fields: z.record(z.string(), z.string()),
    status: PackageStatus,
    reasons: z.array(z.string()),
    agent_id: z.string().nullable(),
    launch_error: z.string().nullable().describe('Why the package command cannot be run on its host (a valid package that cannot be started)'),
    discovered_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Package' });
export const ScanSchema = z
  .object({
    id: z.string(),
    host_id: z.string(),
    status: z.enum(['running', 'completed', 'failed']),
    trigger: z.enum(['start', 'watch', 'api']),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    total: z.number().int().nullable(),
    done: z.number().int(),
    counts: z.record(PackageStatus, z.number().int()),
    error: z.string().nullable(),
  })
  .meta({ id: 'PackageScan' });
const DiscoveryTokenSchema = z
  .object({
    id: z.string(),
    agent_type: z.string().nullable(),
    created_by: z.string(),
    created_at: z.string(),
    expires_at: z.string(),
    used_at: z.string().nullable(),
    used_by_agent_id: z.string().nullable(),
    revoked_at: z.string().nullable(),
    state: z.enum(['active', 'used', 'expired', 'revoked']),
  })
  .meta({ id: 'DiscoveryToken' });

export const PackagesDirectorySchema = z
  .object({
    path: z.string().describe('The agents directory: one folder per package, each with a `.env.discovery` (this host in single-node mode, else the first host)'),
    hosts: z
      .array(z.object({ host_id: z.string(), path: z.string().nullable(), status: z.string() }))
      .describe("Every host's agents directory as its supervisor reported it"),
    env_discovery_example: z.string().describe('A valid `.env.discovery` to start from'),
  })
  .meta({ id: 'PackagesDirectory' });

const PathCursor = z.object({ h: z.string().optional(), p: z.string() });
const TimeIdCursor = z.object({ c: z.string(), i: z.string() });

export function packageRoutes({ packages, registration }: { packages: PackageService; registration: RegistrationService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/packages', operationId: 'listPackages', permission: 'packages:read', tags: ['packages'],
      summary: 'Every package in the agents directory, valid or not, with its status and every reason',
      query: z.object({ ...paginationQuery, status: PackageStatus.optional(), host_id: z.string().max(64).optional().describe('Only the packages of this host') }),
      responses: { 200: { description: 'A page of packages', schema: pageOf(PackageSchema, 'PackagePage') }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) => {
        const after = query.cursor ? decodeCursor(query.cursor, PathCursor) : undefined;
        return packages.list({ status: query.status, hostId: query.host_id, limit: query.limit, after: after && { h: after.h ?? '', p: after.p } });
      },
    }),
    defineRoute({
      method: 'get', path: '/packages/directory', operationId: 'getPackagesDirectory', permission: 'packages:read', tags: ['packages'],
      summary: 'Where agent packages go on the AMS host, and what a valid .env.discovery looks like',
      responses: { 200: { description: 'The agents directory', schema: PackagesDirectorySchema }, ...errorResponses(401, 403) },
      handler: async () => ({ ...(await packages.directory()), env_discovery_example: ENV_DISCOVERY_EXAMPLE }),
    }),
    defineRoute({
      method: 'post', path: '/packages/rescan', operationId: 'rescanPackages', permission: 'packages:write', action: 'package.rescan', tags: ['packages'],
      summary: "Ask every host's supervisor to scan its agents directory now; answers the first host's scan; follow it at /packages/scans/{id}",
      status: 202,
      responses: { 202: { description: 'The scan, with its progress', schema: ScanSchema }, ...errorResponses(401, 403, 503) },
      handler: async (ctx) => {
        const scan = await packages.rescan();
        ctx.set('Location', `/api/v1/packages/scans/${scan.id}`);
        noteAudit(ctx, { target: `scan:${scan.id}` });
        return scan;
      },
    }),
    defineRoute({
      method: 'get', path: '/packages/scans/{id}', operationId: 'getPackageScan', permission: 'packages:read', tags: ['packages'],
      summary: 'Progress and outcome of a scan (`latest` for the newest)',
      params: z.object({ id: z.string().max(64) }),
      responses: { 200: { description: 'The scan', schema: ScanSchema }, ...errorResponses(401, 403, 404) },
      handler: (_ctx, { params }) => packages.scanStatus(params.id),
    }),
    defineRoute({
      method: 'post', path: '/discovery-tokens', operationId: 'createDiscoveryToken', permission: 'discovery:write', action: 'discovery_token.create', tags: ['registration'],
      summary: 'A one-time token an agent registers with (POST /agents {..., discovery_token}); shown once',
      body: z.strictObject({
        agent_type: AgentType.nullable().optional(),
        expires_in: z.number().int().min(60).max(30 * 86_400).nullable().optional().describe('Seconds; default 3600'),
      }),
      status: 201,
      responses: { 201: { description: 'The token', schema: DiscoveryTokenSchema.extend({ token: z.string() }).meta({ id: 'NewDiscoveryToken' }) }, ...errorResponses(400, 401, 403) },
      handler: async (ctx, { body }) => {
        const created = await registration.createToken(actorName(ctx), body ?? {});
        noteAudit(ctx, { target: `discovery_token:${created.id}`, after: { agent_type: created.agent_type, expires_at: created.expires_at } });
        return created;
      },
    }),
    defineRoute({
      method: 'get', path: '/discovery-tokens', operationId: 'listDiscoveryTokens', permission: 'discovery:write', tags: ['registration'],
      summary: 'Discovery tokens, without their secrets',
      query: z.object(paginationQuery),
      responses: { 200: { description: 'A page of tokens', schema: pageOf(DiscoveryTokenSchema, 'DiscoveryTokenPage') }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) => {
        const after = query.cursor ? decodeCursor(query.cursor, TimeIdCursor) : undefined;
        return registration.listTokens(query.limit, after && { created_at: after.c, id: after.i });
      },
    }),
    defineRoute({
      method: 'delete', path: '/discovery-tokens/{id}', operationId: 'revokeDiscoveryToken', permission: 'discovery:write', action: 'discovery_token.revoke', tags: ['registration'],
      summary: 'Revoke an unused discovery token',
      params: z.object({ id: z.string().max(64) }),
      responses: { 200: { description: 'The revoked token', schema: DiscoveryTokenSchema }, ...errorResponses(401, 403, 404, 409) },
      handler: async (ctx, { params }) => {
        noteAudit(ctx, { target: `discovery_token:${params.id}` });
        return registration.revokeToken(params.id);
      },
    }),
  ];
}
