// GET /status/counts: how many agents were in each process and health status over a range,
// bucketed like the metric series (the console's fleet overview).
import { z } from 'zod';
import type { StateCountsService } from '../../services/state-counts.js';
import { HEALTH_STATES, PROCESS_STATES } from '../../services/state-counts.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { errorResponses } from '../common.js';
import { parseInstant, parseStep } from '../../domain/metric-series.js';

// Each field checked on its own here, so that one 400 names every bad field (the range as a
// whole is checked by the service).
const Instant = z.string().max(64).refine((v) => parseInstant(v) !== undefined, 'must be an ISO 8601 time with a zone (2026-11-24T10:00:00Z) or epoch milliseconds');
const Query = z
  .strictObject({
    from: Instant.optional().describe('Start (inclusive): ISO 8601 with a zone, or epoch ms. Default: one hour before `to`'),
    to: Instant.optional().describe('End (exclusive): ISO 8601 with a zone, or epoch ms. Default: now. At most 31 days after `from`'),
    step: z
      .string()
      .max(32)
      .refine((v) => parseStep(v) !== undefined, 'must be seconds (10, 0.5) or a duration such as 500ms, 10s, 5m, 1h, 1d')
      .optional()
      .describe('Bucket width as for the metric series; default a round step giving at most 1000 points'),
  })
  .meta({ id: 'StateCountsQuery' });

const column = z.array(z.number().int());
const Answer = z
  .object({
    from: z.string(),
    to: z.string(),
    step: z.number().describe('Seconds'),
    t: z.array(z.number()).describe('Bucket start times, epoch ms; each count is taken at the end of its bucket'),
    process: z.object(Object.fromEntries(PROCESS_STATES.map((s) => [s, column])) as Record<(typeof PROCESS_STATES)[number], typeof column>),
    health: z.object(Object.fromEntries(HEALTH_STATES.map((s) => [s, column])) as Record<(typeof HEALTH_STATES)[number], typeof column>),
  })
  .meta({ id: 'StateCounts' });

export function stateCountRoutes({ stateCounts }: { stateCounts: StateCountsService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/status/counts', operationId: 'getStateCounts', permission: 'agents:read', tags: ['status'],
      summary: 'Agents per process status and per health status over a time range, from the status history (columnar, like the metric series)',
      query: Query,
      responses: { 200: { description: 'Counts per bucket', schema: Answer }, ...errorResponses(400, 401, 403, 503) },
      handler: (_ctx, { query }) => stateCounts.series(query),
    }),
  ];
}
