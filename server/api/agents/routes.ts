// /agents: register, list, read, update, delete.
import { z } from 'zod';
import type { AgentService } from '../../services/agents.js';
import type { RegistrationService } from '../../services/registration.js';
import type { CredentialsService } from '../../services/credentials.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { decodeCursor } from '../../http/cursor.js';
import { actorName, errorResponses } from '../common.js';
import { noteAudit } from '../../security/guard.js';
import { AgentIdParams, AgentPage, AgentSchema, CreateAgentBody, ListAgentsQuery, RegisteredAgentSchema, UpdateAgentBody } from './schema.js';

const AgentCursor = z.object({ c: z.string().datetime(), i: z.string() });

const RotatedSchema = z
  .object({ agent_id: z.string(), nats: z.object({ url: z.string(), creds: z.string() }), revoked: z.number().int() })
  .meta({ id: 'RotatedCredentials' });

export function agentRoutes({ agents, registration, credentials }: { agents: AgentService; registration: RegistrationService; credentials: CredentialsService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/agents',
      operationId: 'listAgents',
      permission: 'agents:read',
      summary: 'List agents, filtered, in pages',
      tags: ['agents'],
      query: ListAgentsQuery,
      responses: { 200: { description: 'A page of agents', schema: AgentPage }, ...errorResponses(400, 401, 403, 503) },
      handler: (_ctx, { query }) => {
        const after = query.cursor ? decodeCursor(query.cursor, AgentCursor) : undefined;
        return agents.list({
          limit: query.limit,
          type: query.type,
          status: query.status,
          health: query.health,
          hostId: query.host_id,
          desiredState: query.desired_state,
          q: query.q,
          labels: query.label ? Object.fromEntries(query.label) : undefined,
          after: after && { created_at: after.c, id: after.i },
        });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/agents',
      operationId: 'createAgent',
      action: 'agent.create',
      permission: 'agents:write',
      allowDiscoveryToken: true,
      summary: 'Register an agent: with a one-time discovery_token (no bearer token needed), or as a caller with agents:write',
      tags: ['agents'],
      body: CreateAgentBody,
      status: 201,
      responses: { 201: { description: 'The new agent and its NATS credentials', schema: RegisteredAgentSchema }, ...errorResponses(400, 401, 403, 409, 413, 415, 503) },
      handler: async (ctx, { body }) => {
        const { discovery_token, ...input } = body;
        const agent = discovery_token ? await registration.registerWithToken(input, discovery_token) : await registration.register(input, actorName(ctx));
        if (discovery_token) noteAudit(ctx, { actorName: 'discovery-token', details: { via: 'discovery_token' } });
        noteAudit(ctx, { target: agent.id, after: { agent_name: agent.agent_name, agent_type: agent.agent_type, agent_version: agent.agent_version } });
        ctx.set('Location', `/api/v1/agents/${agent.id}`);
        return agent;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}',
      operationId: 'getAgent',
      permission: 'agents:read',
      agentScoped: true,
      summary: 'Read one agent',
      tags: ['agents'],
      params: AgentIdParams,
      responses: { 200: { description: 'The agent', schema: AgentSchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => agents.get(params.id),
    }),
    defineRoute({
      method: 'put',
      path: '/agents/{id}',
      operationId: 'updateAgent',
      action: 'agent.update',
      permission: 'agents:write',
      agentScoped: true,
      summary: "Update an agent's version, description, topics or labels",
      tags: ['agents'],
      params: AgentIdParams,
      body: UpdateAgentBody,
      responses: { 200: { description: 'The updated agent', schema: AgentSchema }, ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      handler: (_ctx, { params, body }) => {
        const { agent_name: _n, agent_type: _t, ...changes } = body;
        return agents.update(params.id, changes);
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/agents/{id}',
      operationId: 'deleteAgent',
      action: 'agent.delete',
      permission: 'agents:write',
      agentScoped: true,
      summary: 'Remove an agent and everything stored about it',
      tags: ['agents'],
      params: AgentIdParams,
      status: 204,
      responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404, 503) },
      handler: async (_ctx, { params }) => {
        await agents.remove(params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/agents/{id}/credentials/rotate',
      operationId: 'rotateAgentCredentials',
      permission: 'credentials:write',
      action: 'credentials.rotate',
      summary: "Issue new NATS credentials for an agent and revoke its old ones (their connections drop)",
      tags: ['agents'],
      params: AgentIdParams,
      responses: { 200: { description: 'The new credentials, shown once', schema: RotatedSchema }, ...errorResponses(401, 403, 404, 503) },
      handler: async (_ctx, { params }) => {
        const { issued, revoked } = await credentials.rotate(params.id);
        return { agent_id: params.id, nats: { url: issued.url, creds: issued.creds }, revoked };
      },
    }),
  ];
}
