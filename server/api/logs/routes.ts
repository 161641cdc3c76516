// GET /agents/{id}/logs: an agent's log lines newest first, filtered and paged.
import type { LogService } from '../../services/logs.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { errorResponses } from '../common.js';
import { AgentIdParams } from '../agents/schema.js';
import { LogPage, LogsQuery } from './schema.js';

export function logRoutes({ logs }: { logs: LogService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/agents/{id}/logs',
      operationId: 'listAgentLogs',
      permission: 'logs:read',
      agentScoped: true,
      summary: "An agent's log lines, newest first: minimum level, time range, message substring, cursor pages",
      tags: ['logs'],
      params: AgentIdParams,
      query: LogsQuery,
      responses: { 200: { description: 'A page of log lines', schema: LogPage }, ...errorResponses(400, 401, 403, 404, 503) },
      handler: (_ctx, { params, query }) => logs.list(params.id, query),
    }),
  ];
}
