// Configuration: the fleet's stored settings and each agent's effective config, versions, rollback.
import type { Context } from 'koa';
import { z } from 'zod';
import type { ConfigService } from '../../services/config.js';
import type { ApplyResult } from '../../services/lifecycle.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { decodeCursor } from '../../http/cursor.js';
import { noteAudit, principalOf } from '../../security/guard.js';
import { Forbidden } from '../../security/errors.js';
import { AGENT_PROTECTED_CONFIG_KEYS } from '../../security/permissions.js';
import type { ConfigMap } from '../../domain/agent-config.js';
import { actorName, errorResponses } from '../common.js';
import { AgentIdParams } from '../agents/schema.js';
import {
  AgentConfigVersionSchema, ConfigHistoryPage, ConfigVersionSchema, EffectiveConfigSchema, HistoryQuery, PutConfigBody, ReasonQuery,
  RollbackBody,
} from './schema.js';

const VersionCursor = z.object({ v: z.number().int() });
const before = (cursor: string | undefined) => (cursor ? decodeCursor(cursor, VersionCursor).v : undefined);

/** Records the change in the audit row and drops `previous` from the answer. */
function audited<T extends { previous: ConfigMap | null; config: ConfigMap }>(ctx: Context, written: T): Omit<T, 'previous'> {
  const { previous, ...rest } = written;
  noteAudit(ctx, { before: previous, after: written.config });
  return rest;
}

/** What the control plane does when configuration changes (the hosts get it; a running agent at once). */
export interface ConfigChanges {
  /** The agent's host sends its running process the new version now; answers what the agent did. */
  applyConfig(agentId: string): Promise<ApplyResult>;
  /** A changed configuration lifts a hold and goes to the hosts (every agent for a fleet change). */
  changed(agentIds: string[] | 'all'): Promise<void>;
}

export function configRoutes({ config, configChanges }: { config: ConfigService; configChanges?: ConfigChanges }): RouteSpec[] {
  /** A running agent is sent the new effective config at once; the answer says whether it took it. */
  const applied = async <T extends object>(agentId: string, written: T) => {
    if (!configChanges) return written;
    await configChanges.changed([agentId]);
    return { ...written, apply: await configChanges.applyConfig(agentId) };
  };
  const fleetChanged = async <T extends object>(written: T) => {
    await configChanges?.changed('all');
    return written;
  };

  /** An agent-bound principal may not change the keys that control how it is run (OWASP API3). */
  async function refuseProtectedKeys(ctx: Context, agentId: string, next: ConfigMap): Promise<void> {
    if (principalOf(ctx)?.agentId === undefined) return;
    const current = await config.storedAgentConfig(agentId);
    const changed = AGENT_PROTECTED_CONFIG_KEYS.filter((k) => JSON.stringify(current[k]) !== JSON.stringify(next[k]));
    if (changed.length > 0) {
      throw new Forbidden(
        `An agent may not change ${changed.join(', ')} in its own configuration`,
        changed.map((k) => ({ path: `config.${k}`, reason: 'not writable by the agent role', in: 'body' })),
        'field_not_permitted',
      );
    }
  }

  return [
    defineRoute({
      method: 'get',
      path: '/config',
      operationId: 'getFleetConfig',
      permission: 'config:read',
      summary: 'Fleet-wide stored settings every agent inherits',
      tags: ['config'],
      responses: { 200: { description: 'Current fleet settings', schema: ConfigVersionSchema }, ...errorResponses(401, 403, 503) },
      handler: () => config.fleet(),
    }),
    defineRoute({
      method: 'put',
      path: '/config',
      operationId: 'putFleetConfig',
      permission: 'config:write',
      action: 'config.fleet.update',
      summary: 'Store a new version of the fleet settings',
      tags: ['config'],
      query: ReasonQuery,
      body: PutConfigBody,
      responses: { 200: { description: 'The new version', schema: ConfigVersionSchema }, ...errorResponses(400, 401, 403, 413, 415, 503) },
      handler: async (ctx, { body, query }) => {
        noteAudit(ctx, { target: 'fleet' });
        return fleetChanged(audited(ctx, await config.putFleet(body.config, actorName(ctx), body.reason ?? query.reason ?? null)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/config/history',
      operationId: 'getFleetConfigHistory',
      permission: 'config:read',
      summary: 'Versions of the fleet settings, newest first',
      tags: ['config'],
      query: HistoryQuery,
      responses: { 200: { description: 'A page of versions', schema: ConfigHistoryPage }, ...errorResponses(400, 401, 403, 503) },
      handler: (_ctx, { query }) => config.fleetHistory(query.limit, before(query.cursor)),
    }),
    defineRoute({
      method: 'post',
      path: '/config/rollback',
      operationId: 'rollbackFleetConfig',
      permission: 'config:write',
      action: 'config.fleet.rollback',
      summary: 'Make an old fleet version current again, as a new version',
      tags: ['config'],
      body: RollbackBody,
      responses: { 200: { description: 'The new version', schema: ConfigVersionSchema }, ...errorResponses(400, 401, 403, 404, 415, 503) },
      handler: async (ctx, { body }) => {
        noteAudit(ctx, { target: 'fleet', details: { version: body.version } });
        return fleetChanged(audited(ctx, await config.rollbackFleet(body.version, actorName(ctx), body.reason ?? null)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/config',
      operationId: 'getAgentConfig',
      permission: 'config:read',
      agentScoped: true,
      summary: "An agent's effective configuration with each key's source",
      tags: ['config'],
      params: AgentIdParams,
      responses: { 200: { description: 'Effective configuration', schema: EffectiveConfigSchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => config.effective(params.id),
    }),
    defineRoute({
      method: 'put',
      path: '/agents/{id}/config',
      operationId: 'putAgentConfig',
      permission: 'config:write',
      agentScoped: true,
      action: 'config.agent.update',
      summary: "Store a new version of an agent's own settings",
      tags: ['config'],
      params: AgentIdParams,
      query: ReasonQuery,
      body: PutConfigBody,
      responses: { 200: { description: 'The new version', schema: AgentConfigVersionSchema }, ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      handler: async (ctx, { params, body, query }) => {
        await refuseProtectedKeys(ctx, params.id, body.config);
        return applied(params.id, audited(ctx, await config.putAgent(params.id, body.config, actorName(ctx), body.reason ?? query.reason ?? null)));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/agents/{id}/config/history',
      operationId: 'getAgentConfigHistory',
      permission: 'config:read',
      agentScoped: true,
      summary: "Versions of an agent's settings, newest first",
      tags: ['config'],
      params: AgentIdParams,
      query: HistoryQuery,
      responses: { 200: { description: 'A page of versions', schema: ConfigHistoryPage }, ...errorResponses(400, 401, 403, 404, 503) },
      handler: (_ctx, { params, query }) => config.agentHistory(params.id, query.limit, before(query.cursor)),
    }),
    defineRoute({
      method: 'post',
      path: '/agents/{id}/config/rollback',
      operationId: 'rollbackAgentConfig',
      permission: 'config:write',
      action: 'config.agent.rollback',
      summary: 'Make an old version current again, as a new version',
      tags: ['config'],
      params: AgentIdParams,
      body: RollbackBody,
      responses: { 200: { description: 'The new version', schema: AgentConfigVersionSchema }, ...errorResponses(400, 401, 403, 404, 415, 503) },
      handler: async (ctx, { params, body }) => {
        noteAudit(ctx, { details: { version: body.version } });
        return applied(params.id, audited(ctx, await config.rollbackAgent(params.id, body.version, actorName(ctx), body.reason ?? null)));
      },
    }),
  ];
}
