// /hosts: every host a supervisor runs on, with its state and its agents by status.
import { z } from 'zod';
import type { HostService } from '../../services/hosts.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { errorResponses } from '../common.js';

export const HostSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['up', 'down', 'unknown']).describe('up while its supervisor holds the host lease'),
    status_since: z.string().nullable(),
    last_seen: z.string().nullable().describe("The supervisor's last lease renewal seen"),
    version: z.string().nullable(),
    address: z.string().nullable(),
    pid: z.number().int().nullable(),
    agents_dir: z.string().nullable(),
    started_at: z.string().nullable(),
    epoch: z.number().int().describe('Increments with every new supervisor of the host; observations of older epochs are refused'),
    agents: z.object({ total: z.number().int(), by_status: z.record(z.string(), z.number().int()) }),
  })
  .meta({ id: 'Host' });

export function hostRoutes({ hosts }: { hosts: HostService }): RouteSpec[] {
  return [
    defineRoute({
      method: 'get', path: '/hosts', operationId: 'listHosts', permission: 'agents:read', tags: ['hosts'],
      summary: "Every host a supervisor has run on, with its supervisor's state and its agents by status",
      responses: { 200: { description: 'The hosts', schema: z.object({ items: z.array(HostSchema) }).meta({ id: 'HostList' }) }, ...errorResponses(401, 403, 503) },
      handler: () => hosts.list(),
    }),
    defineRoute({
      method: 'get', path: '/hosts/{id}', operationId: 'getHost', permission: 'agents:read', tags: ['hosts'],
      summary: 'One host',
      params: z.object({ id: z.string().max(64) }),
      responses: { 200: { description: 'The host', schema: HostSchema }, ...errorResponses(401, 403, 404, 503) },
      handler: (_ctx, { params }) => hosts.get(params.id),
    }),
  ];
}
