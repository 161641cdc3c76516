// /silences: mute the notifications of an agent, a rule, or a rule of one agent for a while,
// with a reason; list them; end one early. Audited; alerts stay recorded while silenced.
import { z } from 'zod';
import type { AlertService } from '../../alerts/service.js';
import { decodeCursor } from '../../http/cursor.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { noteAudit } from '../../security/guard.js';
import { actorName, errorResponses } from '../common.js';
import { CreateSilenceBody, ListSilencesQuery, SilenceIdParams, SilencePage, SilenceSchema } from './schema.js';

const IdCursor = z.object({ i: z.number().int() });

const scope = (s: { agent_id: string | null; rule: string | null; reason: string; ends_at: string }) => ({ agent_id: s.agent_id, rule: s.rule, reason: s.reason, ends_at: s.ends_at });

export function silenceRoutes({ alerts }: { alerts: AlertService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/silences', operationId: 'listSilences', permission: 'alerts:read', tags: ['alerts'],
      summary: 'Silences, newest first: active ones by default, or those that expired or were ended',
      query: ListSilencesQuery,
      responses: { 200: { description: 'A page of silences', schema: SilencePage }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) =>
        alerts.silences.list({
          state: query.state,
          agentId: query.agent_id,
          rule: query.rule,
          limit: query.limit,
          beforeId: query.cursor ? decodeCursor(query.cursor, IdCursor).i : undefined,
        }),
    }),
    defineRoute({
      method: 'post', path: '/silences', operationId: 'createSilence', permission: 'alerts:write', action: 'silence.create', tags: ['alerts'],
      summary: 'Mute the notifications of an agent, a rule, or both, for a duration, with a reason; matching alerts are still recorded and shown',
      body: CreateSilenceBody, status: 201,
      responses: { 201: { description: 'The silence', schema: SilenceSchema }, ...errorResponses(400, 401, 403, 415) },
      handler: async (ctx, { body }) => {
        const silence = await alerts.silences.create(body, actorName(ctx));
        noteAudit(ctx, { target: `silence:${silence.id}`, after: scope(silence) });
        return silence;
      },
    }),
    defineRoute({
      method: 'get', path: '/silences/{id}', operationId: 'getSilence', permission: 'alerts:read', tags: ['alerts'],
      summary: 'One silence',
      params: SilenceIdParams,
      responses: { 200: { description: 'The silence', schema: SilenceSchema }, ...errorResponses(400, 401, 403, 404) },
      handler: (_ctx, { params }) => alerts.silences.get(params.id),
    }),
    defineRoute({
      method: 'delete', path: '/silences/{id}', operationId: 'endSilence', permission: 'alerts:write', action: 'silence.end', tags: ['alerts'],
      summary: 'End a silence now (it stays listed as ended); 409 when it has expired or ended already',
      params: SilenceIdParams,
      responses: { 200: { description: 'The ended silence', schema: SilenceSchema }, ...errorResponses(400, 401, 403, 404, 409) },
      handler: async (ctx, { params }) => {
        noteAudit(ctx, { target: `silence:${params.id}` });
        const { before, after } = await alerts.silences.end(params.id, actorName(ctx));
        noteAudit(ctx, { before: { ...scope(before), state: before.state }, after: { state: after.state, ended_by: after.ended_by } });
        return after;
      },
    }),
  ];
}
