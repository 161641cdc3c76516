// Lifecycle: start/stop/restart an agent (202, 409 invalid_transition), its status, history
// and health, and GET /status for the whole fleet.
import type { Context } from 'koa';
import { z } from 'zod';
import type { AgentService } from '../../services/agents.js';
import type { LifecycleService } from '../../services/lifecycle.js';
import type { StatusService } from '../../services/status.js';
import type { LifecycleAction } from '../../domain/state-machine.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { decodeCursor } from '../../http/cursor.js';
import { noteAudit } from '../../security/guard.js';
import { actorName, errorResponses } from '../common.js';
import { AgentIdParams, LifecycleAcceptedSchema } from '../agents/schema.js';
import { AgentHealthSchema, AgentStatusSchema, FleetStatusSchema, StatusHistoryPage, StatusHistoryQuery } from './schema.js';

const HistoryCursor = z.object({ t: z.string().datetime(), i: z.number().int() });

export function lifecycleRoutes({ agents, lifecycle, status }: { agents: AgentService; lifecycle: LifecycleService; status: StatusService }): RouteSpec[] {
  const operator = (ctx: Context) => ({ actor: actorName(ctx), correlation_id: ctx.state.requestId as string });
  const lifecycleRoute = (action: LifecycleAction, summary: string) =>
    defineRoute({
      method: 'post',
      path: `/agents/{id}/${action}`,
      operationId: `${action}Agent`,
      permission: 'agents:control',
      action: `agent.${action}`,
      summary,
      tags: ['lifecycle'],
      params: AgentIdParams,
      status: 202,
      responses: {
        202: {
          description: "Accepted: the desired state and the first transition are recorded and the agent's host is told; the agent as GET /agents/{id} answers it, with whether its host is up",
          schema: LifecycleAcceptedSchema,
        },
        ...errorResponses(401, 403, 404, 409, 503),
      },
      handler: async (ctx, { params }) => {
        const cause = operator(ctx);
        noteAudit(ctx, { target: params.id });
        const accepted =
          action === 'start' ? await lifecycle.requestStart(params.id, cause) : action === 'stop' ? await lifecycle.requestStop(params.id, cause) : await lifecycle.requestRestart(params.id, cause);
        return { ...(await agents.get(params.id)), host_status: accepted.host_status };
      },
    });

  return [
    lifecycleRoute('start', 'Start the agent from its package (registered, stopped or failed agents)'),
    lifecycleRoute('stop', 'Stop the agent: stop request, SIGTERM after stop_grace_period, SIGKILL after stop_timeout'),
    lifecycleRoute('restart', 'Stop the agent if it runs, then start it'),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/status',
      operationId: 'getAgentStatus',
      permission: 'agents:read',
      agentScoped: true,
      summary: "The agent's process, health and recovery status, PID, start time, last heartbeat, last error and latest metrics",
      tags: ['lifecycle'],
      params: AgentIdParams,
      responses: { 200: { description: 'Current status', schema: AgentStatusSchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => lifecycle.status(params.id),
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/status/history',
      operationId: 'getAgentStatusHistory',
      permission: 'agents:read',
      agentScoped: true,
      summary: 'Every status change with its cause, newest first',
      tags: ['lifecycle'],
      params: AgentIdParams,
      query: StatusHistoryQuery,
      responses: { 200: { description: 'A page of history entries', schema: StatusHistoryPage }, ...errorResponses(400, 401, 403, 404, 503) },
      handler: async (_ctx, { params, query }) => {
        await agents.get(params.id);
        const before = query.cursor ? decodeCursor(query.cursor, HistoryCursor) : undefined;
        return status.history({ agentId: params.id, from: query.from, to: query.to, eventType: query.event_type, limit: query.limit, before: before && { time: before.t, id: before.i } });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/health',
      operationId: 'getAgentHealth',
      permission: 'agents:read',
      agentScoped: true,
      summary: "The agent's health with the reasons (missed heartbeats, thresholds over their limits)",
      tags: ['lifecycle'],
      params: AgentIdParams,
      responses: { 200: { description: 'Health and reasons', schema: AgentHealthSchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => lifecycle.health(params.id),
    }),
    defineRoute({
      method: 'get',
      path: '/status',
      operationId: 'getFleetStatus',
      permission: 'agents:read',
      summary: 'Agents counted by process, health and recovery status, per type and per label, and the state of the database, broker and supervisor',
      tags: ['lifecycle'],
      responses: { 200: { description: 'Fleet status', schema: FleetStatusSchema }, ...errorResponses(401, 403, 503) },
      handler: () => lifecycle.fleet(),
    }),
  ];
}
