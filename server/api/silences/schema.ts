// Schemas of /silences: muting an agent's or a rule's alert notifications for a while.
import { z } from 'zod';
import { RULE_IDS } from '../../alerts/rules.js';
import { MAX_SILENCE_S, MIN_SILENCE_S } from '../../alerts/silences.js';
import { pageOf, paginationQuery } from '../common.js';

export const SilenceSchema = z
  .object({
    id: z.number().int(),
    agent_id: z.string().nullable().describe('The agent whose alerts are muted; null for every agent'),
    rule: z.string().nullable().describe('The rule whose alerts are muted; null for every rule'),
    reason: z.string(),
    created_by: z.string(),
    created_at: z.string(),
    starts_at: z.string(),
    ends_at: z.string().describe('It expires by itself at this time'),
    ended_at: z.string().nullable().describe('When it was ended early, if it was'),
    ended_by: z.string().nullable(),
    state: z.enum(['active', 'expired', 'ended', 'pending']),
  })
  .meta({ id: 'Silence' });

export const SilencePage = pageOf(SilenceSchema, 'SilencePage');

export const CreateSilenceBody = z
  .strictObject({
    agent_id: z.string().min(1).max(128).nullable().optional().describe('Mute this agent (with `rule`: only that rule of it)'),
    rule: z.enum(RULE_IDS).nullable().optional().describe('Mute this rule (with `agent_id`: only for that agent)'),
    reason: z.string().trim().min(1, 'is required: say why the alerts are muted').max(1000),
    duration_s: z.number().int().min(MIN_SILENCE_S).max(MAX_SILENCE_S).optional().describe(`Seconds from now, ${MIN_SILENCE_S} to ${MAX_SILENCE_S}; or give ends_at`),
    ends_at: z.iso.datetime({ offset: true }).optional().describe('When it ends (ISO 8601); or give duration_s'),
  })
  .meta({ id: 'CreateSilence' });

export const ListSilencesQuery = z.strictObject({
  ...paginationQuery,
  state: z.enum(['active', 'inactive', 'all']).default('active').describe('active (default): in force now; inactive: expired or ended early; all'),
  agent_id: z.string().min(1).max(128).optional(),
  rule: z.enum(RULE_IDS).optional(),
});

export const SilenceIdParams = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
