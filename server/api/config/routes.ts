// Configuration: the fleet's stored settings and each agent's effective config, versions, rollback.
import { z } from 'zod';
import type { ConfigService } from '../../services/config.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { decodeCursor } from '../../http/cursor.js';
import { actorName, errorResponses } from '../common.js';
import { AgentIdParams } from '../agents/schema.js';
import {
  AgentConfigVersionSchema, ConfigHistoryPage, ConfigVersionSchema, EffectiveConfigSchema, HistoryQuery, PutConfigBody, ReasonQuery,
  RollbackBody,
} from './schema.js';

const VersionCursor = z.object({ v: z.number().int() });
const before = (cursor: string | undefined) => (cursor ? decodeCursor(cursor, VersionCursor).v : undefined);

export function configRoutes({ config }: { config: ConfigService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/config',
      operationId: 'getFleetConfig',
      summary: 'Fleet-wide stored settings every agent inherits',
      tags: ['config'],
      responses: { 200: { description: 'Current fleet settings', schema: ConfigVersionSchema }, ...errorResponses(503) },
      handler: () => config.fleet(),
    }),
    defineRoute({
      method: 'put',
      path: '/config',
      operationId: 'putFleetConfig',
      summary: 'Store a new version of the fleet settings',
      tags: ['config'],
      query: ReasonQuery,
      body: PutConfigBody,
      responses: { 200: { description: 'The new version', schema: ConfigVersionSchema }, ...errorResponses(400, 413, 415, 503) },
      handler: (ctx, { body, query }) => config.putFleet(body.config, actorName(ctx), body.reason ?? query.reason ?? null),
    }),
    defineRoute({
      method: 'get',
      path: '/config/history',
      operationId: 'getFleetConfigHistory',
      summary: 'Versions of the fleet settings, newest first',
      tags: ['config'],
      query: HistoryQuery,
      responses: { 200: { description: 'A page of versions', schema: ConfigHistoryPage }, ...errorResponses(400, 503) },
      handler: (_ctx, { query }) => config.fleetHistory(query.limit, before(query.cursor)),
    }),
    defineRoute({
      method: 'post',
      path: '/config/rollback',
      operationId: 'rollbackFleetConfig',
      summary: 'Make an old fleet version current again, as a new version',
      tags: ['config'],
      body: RollbackBody,
      responses: { 200: { description: 'The new version', schema: ConfigVersionSchema }, ...errorResponses(400, 404, 415, 503) },
      handler: (ctx, { body }) => config.rollbackFleet(body.version, actorName(ctx), body.reason ?? null),
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/config',
      operationId: 'getAgentConfig',
      summary: "An agent's effective configuration with each key's source",
      tags: ['config'],
      params: AgentIdParams,
      responses: { 200: { description: 'Effective configuration', schema: EffectiveConfigSchema }, ...errorResponses(404, 503) },
      handler: (_ctx, { params }) => config.effective(params.id),
    }),
    defineRoute({
      method: 'put',
      path: '/agents/{id}/config',
      operationId: 'putAgentConfig',
      summary: "Store a new version of an agent's own settings",
      tags: ['config'],
      params: AgentIdParams,
      query: ReasonQuery,
      body: PutConfigBody,
      responses: { 200: { description: 'The new version', schema: AgentConfigVersionSchema }, ...errorResponses(400, 404, 413, 415, 503) },
      handler: (ctx, { params, body, query }) => config.putAgent(params.id, body.config, actorName(ctx), body.reason ?? query.reason ?? null),
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/config/history',
      operationId: 'getAgentConfigHistory',
      summary: "Versions of an agent's settings, newest first",
      tags: ['config'],
      params: AgentIdParams,
      query: HistoryQuery,
      responses: { 200: { description: 'A page of versions', schema: ConfigHistoryPage }, ...errorResponses(400, 404, 503) },
      handler: (_ctx, { params, query }) => config.agentHistory(params.id, query.limit, before(query.cursor)),
    }),
    defineRoute({
      method: 'post',
      path: '/agents/{id}/config/rollback',
      operationId: 'rollbackAgentConfig',
      summary: 'Make an old version current again, as a new version',
      tags: ['config'],
      params: AgentIdParams,
      body: RollbackBody,
      responses: { 200: { description: 'The new version', schema: AgentConfigVersionSchema }, ...errorResponses(400, 404, 415, 503) },
      handler: (ctx, { params, body }) => config.rollbackAgent(params.id, body.version, actorName(ctx), body.reason ?? null),
    }),
  ];
}
