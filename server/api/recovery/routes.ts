// Recovery: an agent's policy (GET/PUT), its recovery state and a manual trigger, and the
// fleet's recovery statistics.
import type { RecoveryService } from '../../services/recovery.js';
import type { LifecycleService } from '../../services/lifecycle.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { noteAudit } from '../../security/guard.js';
import { actorName, errorResponses } from '../common.js';
import { AgentIdParams } from '../agents/schema.js';
import { AgentRecoverySchema, FleetRecoveryStatsSchema, PutRecoveryPolicyBody, RecoveryPolicySchema } from './schema.js';

export function recoveryRoutes({ recovery, lifecycle }: { recovery: RecoveryService; lifecycle: LifecycleService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/agents/{id}/recovery',
      operationId: 'getAgentRecovery',
      permission: 'agents:read',
      agentScoped: true,
      summary: 'Recovery state: attempts of the latest episode, remaining budget, next attempt time, policy and statistics',
      tags: ['recovery'],
      params: AgentIdParams,
      responses: { 200: { description: 'Recovery state', schema: AgentRecoverySchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => recovery.view(params.id),
    }),
    defineRoute({
      method: 'post',
      path: '/agents/{id}/recovery',
      operationId: 'triggerAgentRecovery',
      permission: 'recovery:trigger',
      action: 'recovery.trigger',
      summary: 'Start a recovery now (a restart, counted against the policy); 409 while one runs',
      tags: ['recovery'],
      params: AgentIdParams,
      status: 202,
      responses: { 202: { description: 'Accepted: the first attempt is scheduled', schema: AgentRecoverySchema }, ...errorResponses(401, 403, 404, 409, 503) },
      handler: async (ctx, { params }) => {
        noteAudit(ctx, { target: params.id });
        await lifecycle.triggerRecovery(params.id, { actor: actorName(ctx), correlation_id: ctx.state.requestId });
        return recovery.view(params.id);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/recovery/policy',
      operationId: 'getRecoveryPolicy',
      permission: 'agents:read',
      agentScoped: true,
      summary: "The agent's recovery policy (the defaults until one is stored)",
      tags: ['recovery'],
      params: AgentIdParams,
      responses: { 200: { description: 'The policy', schema: RecoveryPolicySchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => recovery.policy(params.id),
    }),
    defineRoute({
      method: 'put',
      path: '/agents/{id}/recovery/policy',
      operationId: 'putRecoveryPolicy',
      permission: 'agents:control',
      action: 'recovery.policy.update',
      summary: "Change fields of the agent's recovery policy",
      tags: ['recovery'],
      params: AgentIdParams,
      body: PutRecoveryPolicyBody,
      responses: { 200: { description: 'The policy now in force', schema: RecoveryPolicySchema }, ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      handler: async (ctx, { params, body }) => {
        const { before, view } = await recovery.putPolicy(params.id, body, actorName(ctx));
        noteAudit(ctx, { target: params.id, before, after: view });
        return view;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/recovery/stats',
      operationId: 'getRecoveryStats',
      permission: 'agents:read',
      summary: 'Fleet-wide recovery statistics: attempts, success and failure rate, mean and p95 time to recover, effectiveness per trigger and action',
      tags: ['recovery'],
      responses: { 200: { description: 'Statistics', schema: FleetRecoveryStatsSchema }, ...errorResponses(401, 403, 503) },
      handler: () => recovery.fleetStats(),
    }),
  ];
}
