// /alerts: list with filters and cursor pages, acknowledge, and the deliveries of one alert.
import { z } from 'zod';
import type { AlertService } from '../../alerts/service.js';
import { decodeCursor } from '../../http/cursor.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { noteAudit } from '../../security/guard.js';
import { actorName, errorResponses } from '../common.js';
import { ALERT_RULES } from '../../alerts/rules.js';
import { AlertIdParams, AlertPage, AlertRuleList, AlertSchema, BulkAckAnswer, BulkAckBody, DeliverySchema, ListAlertsQuery } from './schema.js';

const AlertCursor = z.object({ i: z.number().int(), r: z.number().int().optional(), t: z.string().max(40).optional() });

// Agent-bound principals (the `agent` role) get 403 here: the role has no alerts:read, and
// these routes are not agent-scoped, so the guard refuses them even in a custom setup. An
// agent's own alerts reach it on the live stream only if its role is given alerts:read.
export function alertRoutes({ alerts }: { alerts: AlertService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/alerts', operationId: 'listAlerts', permission: 'alerts:read', tags: ['alerts'],
      summary: "Alerts, newest first (or worst first, or by latest activity), filtered by status, severity, agent, rule and the agent's labels",
      query: ListAlertsQuery,
      responses: { 200: { description: 'A page of alerts', schema: AlertPage }, ...errorResponses(400, 401, 403) },
      handler: (_ctx, { query }) =>
        alerts.list({
          status: query.status,
          severity: query.severity,
          agentId: query.agent_id,
          rule: query.rule,
          labels: query.label ? Object.fromEntries(query.label) : undefined,
          sort: query.sort,
          limit: query.limit,
          after: query.cursor ? decodeCursor(query.cursor, AlertCursor) : undefined,
        }),
    }),
    // Before /alerts/{id}: a literal segment wins over the parameter.
    defineRoute({
      method: 'get', path: '/alerts/rules', operationId: 'listAlertRules', permission: 'alerts:read', tags: ['alerts'],
      summary: 'The built-in alert rules with their severity and what each watches for',
      responses: { 200: { description: 'Every rule', schema: AlertRuleList }, ...errorResponses(401, 403) },
      handler: () => ({ items: ALERT_RULES.map((r) => ({ id: r.id, description: r.description, severity: r.severity, severity_from: r.from })) }),
    }),
    defineRoute({
      method: 'post', path: '/alerts/ack', operationId: 'acknowledgeAlerts', permission: 'alerts:write', action: 'alert.acknowledge', tags: ['alerts'],
      summary: 'Acknowledge several open alerts at once; each is acknowledged on its own, and those that cannot be (resolved, acknowledged already, unknown) are answered in `skipped`',
      body: BulkAckBody,
      responses: { 200: { description: 'What was acknowledged and what was skipped', schema: BulkAckAnswer }, ...errorResponses(400, 401, 403, 415) },
      handler: async (ctx, { body }) => {
        const result = await alerts.acknowledgeMany(body.ids, actorName(ctx));
        noteAudit(ctx, {
          target: `alerts:${result.acknowledged.map((a) => a.id).join(',') || 'none'}`.slice(0, 255),
          after: { status: 'acknowledged', acknowledged_by: actorName(ctx) },
          details: { requested: body.ids.length, acknowledged: result.acknowledged.map((a) => a.id), skipped: result.skipped.map((s) => ({ id: s.id, code: s.code })) },
        });
        return result;
      },
    }),
    defineRoute({
      method: 'get', path: '/alerts/{id}', operationId: 'getAlert', permission: 'alerts:read', tags: ['alerts'],
      summary: 'One alert',
      params: AlertIdParams,
      responses: { 200: { description: 'The alert', schema: AlertSchema }, ...errorResponses(400, 401, 403, 404) },
      handler: (_ctx, { params }) => alerts.get(params.id),
    }),
    defineRoute({
      method: 'post', path: '/alerts/{id}/ack', operationId: 'acknowledgeAlert', permission: 'alerts:write', action: 'alert.acknowledge', tags: ['alerts'],
      summary: 'Acknowledge an open alert (409 when it is already acknowledged or resolved); repeats still count, but notify no one',
      params: AlertIdParams,
      responses: { 200: { description: 'The acknowledged alert', schema: AlertSchema }, ...errorResponses(400, 401, 403, 404, 409) },
      handler: async (ctx, { params }) => {
        noteAudit(ctx, { target: `alert:${params.id}` });
        const { before, after } = await alerts.acknowledge(params.id, actorName(ctx));
        noteAudit(ctx, { before: { status: before.status }, after: { status: after.status, acknowledged_by: after.acknowledged_by }, details: { rule: after.rule, agent_id: after.agent_id } });
        return after;
      },
    }),
    defineRoute({
      method: 'get', path: '/alerts/{id}/deliveries', operationId: 'listAlertDeliveries', permission: 'alerts:read', tags: ['alerts'],
      summary: 'Where the alert was sent: one row per channel and notification (raised, escalated, resolved), with attempts and the last error',
      params: AlertIdParams,
      responses: { 200: { description: 'Deliveries, oldest first', schema: z.object({ items: z.array(DeliverySchema) }).meta({ id: 'AlertDeliveryList' }) }, ...errorResponses(400, 401, 403, 404) },
      handler: async (_ctx, { params }) => ({ items: await alerts.deliveries(params.id) }),
    }),
  ];
}
