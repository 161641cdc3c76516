// /notification-channels: read and replace the channels alerts are sent to, and the routing.
// Admin only (users:admin): channels hold secrets and decide who gets woken up.
import type { ChannelService } from '../../alerts/channel-service.js';
import type { AlertService } from '../../alerts/service.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { noteAudit } from '../../security/guard.js';
import { actorName, errorResponses } from '../common.js';
import { ChannelNameParams, ChannelsView, ChannelTestResultSchema, PutChannelsBody } from './schema.js';

export function notificationChannelRoutes({ channels, alerts }: { channels: ChannelService; alerts: AlertService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/notification-channels', operationId: 'listNotificationChannels', permission: 'users:admin', tags: ['alerts'],
      summary: 'Notification channels (built-in desktop, from the environment, and managed here) with secrets masked, and the alert routing',
      responses: { 200: { description: 'Channels and routing', schema: ChannelsView }, ...errorResponses(401, 403) },
      handler: () => channels.view(),
    }),
    defineRoute({
      method: 'put', path: '/notification-channels', operationId: 'putNotificationChannels', permission: 'users:admin', action: 'notification_channels.update', tags: ['alerts'],
      summary: 'Replace the managed channels (and the routing when given); a secret omitted or sent back masked is kept',
      body: PutChannelsBody,
      responses: { 200: { description: 'Channels and routing', schema: ChannelsView }, ...errorResponses(400, 401, 403, 415) },
      handler: async (ctx, { body }) => {
        const { view, before } = await channels.replace(body, actorName(ctx));
        // Both sides are the masked views: the audit log never holds a channel secret.
        noteAudit(ctx, { target: 'notification-channels', before, after: view });
        return view;
      },
    }),
    defineRoute({
      method: 'post', path: '/notification-channels/{name}/test', operationId: 'testNotificationChannel', permission: 'users:admin', action: 'notification_channel.test', tags: ['alerts'],
      summary: 'Send a test message to one channel, once, and answer whether the receiver took it (200 either way; `ok` says which)',
      params: ChannelNameParams,
      responses: { 200: { description: 'The delivery result', schema: ChannelTestResultSchema }, ...errorResponses(401, 403, 404) },
      handler: async (ctx, { params }) => {
        noteAudit(ctx, { target: `notification-channel:${params.name}` });
        const result = await alerts.testChannel(params.name, actorName(ctx));
        noteAudit(ctx, { details: { ok: result.ok, type: result.type, attempts: result.attempts, error: result.error } });
        return result;
      },
    }),
  ];
}
