// Schemas of the configuration endpoints (fleet and per agent).
import { z } from 'zod';
import { validateConfigLayer } from '../../domain/agent-config.js';
import { pageOf, paginationQuery } from '../common.js';

const ConfigValues = z.record(z.string(), z.unknown()).meta({ id: 'ConfigValues', description: 'Configuration keys and values' });

/**
 * The body of PUT .../config: either `{config: {...}, reason?}` or the configuration object
 * itself (then the reason may come as `?reason=`). Keys are validated per DESIGN.md.
 */
export const PutConfigBody = z
  .unknown()
  .transform((body, ctx) => {
    const wrapped =
      typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, 'config') &&
      Object.keys(body).every((k) => k === 'config' || k === 'reason');
    const config = wrapped ? (body as { config: unknown }).config : body;
    const reason = wrapped ? (body as { reason?: unknown }).reason : undefined;
    for (const issue of validateConfigLayer(config, wrapped ? 'config' : '')) {
      ctx.addIssue({ code: 'custom', message: issue.reason, path: issue.path ? issue.path.split('.') : [] });
    }
    if (reason !== undefined && reason !== null && (typeof reason !== 'string' || reason.length > 1000)) {
      ctx.addIssue({ code: 'custom', message: 'must be a string of at most 1000 characters', path: ['reason'] });
    }
    return { config: config as Record<string, string | number | boolean | Record<string, unknown>>, reason: (reason as string | null | undefined) ?? null };
  })
  .meta({
    id: 'PutConfig',
    override: {
      type: 'object',
      description: 'Either {config, reason?} or the configuration object itself',
      properties: { config: { type: 'object', additionalProperties: true }, reason: { type: 'string', maxLength: 1000 } },
      additionalProperties: true,
    },
  });

export const ReasonQuery = z.object({ reason: z.string().max(1000).optional() });

export const RollbackBody = z.strictObject({
  version: z.number().int().min(1),
  reason: z.string().max(1000).nullable().optional(),
});

export const ConfigVersionSchema = z
  .object({
    version: z.number().int(),
    config: ConfigValues,
    author: z.string(),
    reason: z.string().nullable(),
    created_at: z.string().nullable(),
    apply_status: z.enum(['applied', 'rejected', 'unanswered']).nullable().optional().describe('Agent versions: what the running agent did with it'),
    apply_error: z.string().nullable().optional(),
    applied_at: z.string().nullable().optional(),
  })
  .meta({ id: 'ConfigVersion' });

export const ConfigSourceSchema = z.enum(['default', 'environment', 'fleet', 'agent']);

export const EffectiveConfigSchema = z
  .object({
    agent_id: z.string(),
    version: z.number().int(),
    fleet_version: z.number().int(),
    config: ConfigValues,
    sources: z.record(z.string(), ConfigSourceSchema),
    effective: z.record(z.string(), z.object({ value: z.unknown(), source: ConfigSourceSchema })),
  })
  .meta({ id: 'EffectiveConfig' });

export const ConfigApplySchema = z
  .object({
    status: z.enum(['applied', 'rejected', 'unanswered', 'not_running']),
    error: z.string().optional().describe("The agent's reason for a rejection, or why there was no answer"),
    running_version: z.number().int().nullable().optional().describe('The version the running agent has after this request'),
  })
  .meta({ id: 'ConfigApply', description: 'What the running agent did with the new version; rejected or unanswered leaves its running config as it was' });

export const AgentConfigVersionSchema = ConfigVersionSchema.extend({
  agent_id: z.string(),
  effective: EffectiveConfigSchema,
  apply: ConfigApplySchema.optional(),
}).meta({ id: 'AgentConfigVersion' });

export const ConfigHistoryPage = pageOf(ConfigVersionSchema, 'ConfigHistoryPage');
export const HistoryQuery = z.object(paginationQuery);
