// GET /health: the AMS and each dependency with its status and latency; 503 when down.
import { z } from 'zod';
import type { HealthService } from '../../services/health.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';

const Status = z.enum(['ok', 'degraded', 'down']);
export const HealthSchema = z
  .object({
    status: Status,
    version: z.string(),
    api_version: z.string(),
    uptime_s: z.number(),
    components: z.record(
      z.string(),
      z.looseObject({ status: Status, latency_ms: z.number().nullable(), error: z.string().optional() }),
    ),
  })
  .meta({ id: 'Health' });

export function healthRoutes({ health }: { health: HealthService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/health',
      operationId: 'getHealth',
      permission: 'public',
      rateLimit: 'health',
      summary: 'Health of the AMS and its dependencies',
      tags: ['health'],
      responses: {
        200: { description: 'Up (ok or degraded)', schema: HealthSchema },
        503: { description: 'Down: the database cannot be reached', schema: HealthSchema },
      },
      handler: async (ctx) => {
        const report = await health.report();
        ctx.status = report.status === 'down' ? 503 : 200;
        ctx.body = report;
        ctx.set('Cache-Control', 'no-store');
      },
    }),
  ];
}
