// Schemas of the recovery endpoints: policy, an agent's recovery state, statistics.
import { z } from 'zod';
import { RECOVERY_STATUSES } from '../agents/schema.js';
import { DEFAULT_RECOVERY_POLICY, POLICY_LIMITS, RECOVERY_ACTIONS, RECOVERY_TRIGGERS } from '../../domain/recovery-policy.js';

const bounded = (field: keyof typeof POLICY_LIMITS, description: string) => {
  const l: { min: number; max: number; int?: boolean } = POLICY_LIMITS[field];
  const base = l.int ? z.number().int() : z.number();
  return base.min(l.min).max(l.max).describe(`${description} (${l.min} to ${l.max}; default ${DEFAULT_RECOVERY_POLICY[field]})`);
};

const policyFields = {
  auto_recovery: z.boolean().describe('Recover by itself after a failure (default true)'),
  max_retries: bounded('max_retries', 'Attempts before the agent is declared failed'),
  retry_delay: bounded('retry_delay', 'Seconds before the first attempt; fractions allowed'),
  backoff_factor: bounded('backoff_factor', 'Delay before attempt n = min(retry_delay × backoff_factor^(n-1), max_backoff)'),
  max_backoff: bounded('max_backoff', 'Upper bound of any delay, seconds'),
  recovery_timeout: bounded('recovery_timeout', 'Seconds an attempt has to produce a healthy agent'),
  escalation_threshold: bounded('escalation_threshold', 'Failed attempts after which recovery.escalated is raised'),
  jitter: bounded('jitter', 'Each delay is spread by up to this fraction either way'),
  stable_after: bounded('stable_after', 'Seconds of health after which the attempt counter resets and the config version counts as good'),
  notification_channels: z.array(z.string().min(1).max(200)).max(20).describe('Where an escalation is sent (alert channels)'),
};

export const RecoveryPolicyFieldsSchema = z.object(policyFields).meta({ id: 'RecoveryPolicyFields' });

export const PutRecoveryPolicyBody = z
  .strictObject(Object.fromEntries(Object.entries(policyFields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof policyFields]: z.ZodOptional<(typeof policyFields)[K]> })
  .refine((b) => Object.keys(b).length > 0, { message: 'must set at least one policy field' })
  .meta({ id: 'PutRecoveryPolicy', description: 'The fields to change; the others keep their current values' });

export const RecoveryPolicySchema = RecoveryPolicyFieldsSchema.extend({
  agent_id: z.string(),
  source: z.enum(['default', 'agent']),
  updated_by: z.string().nullable(),
  updated_at: z.string().nullable(),
}).meta({ id: 'RecoveryPolicy' });

const Effectiveness = z.object({ attempts: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), success_rate: z.number().nullable() }).meta({ id: 'RecoveryEffectiveness' });

export const RecoveryStatsSchema = Effectiveness.extend({
  failure_rate: z.number().nullable(),
  recoveries: z.number().int(),
  mean_time_to_recover_s: z.number().nullable(),
  p95_time_to_recover_s: z.number().nullable(),
  last_recovery_at: z.string().nullable(),
  by_trigger: z.record(z.string(), Effectiveness),
  by_action: z.record(z.string(), Effectiveness),
}).meta({ id: 'RecoveryStats' });

export const FleetRecoveryStatsSchema = RecoveryStatsSchema.extend({ generated_at: z.string() }).meta({ id: 'FleetRecoveryStats' });

export const RecoveryAttemptSchema = z
  .object({
    id: z.number().int(),
    attempt_number: z.number().int(),
    recovery_strategy: z.enum(RECOVERY_ACTIONS),
    status: z.enum(['in_progress', 'succeeded', 'failed', 'cancelled']),
    error: z.string().nullable(),
    trigger: z.enum(RECOVERY_TRIGGERS).nullable(),
    started_at: z.string(),
    completed_at: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'RecoveryAttempt' });

export const AgentRecoverySchema = z
  .object({
    agent_id: z.string(),
    recovery_status: z.enum(RECOVERY_STATUSES),
    can_recover: z.boolean(),
    in_progress: z.boolean(),
    trigger: z.enum(RECOVERY_TRIGGERS).nullable(),
    episode_started_at: z.string().nullable(),
    attempts: z.array(RecoveryAttemptSchema).describe('The attempts of the latest episode, in order'),
    remaining: z.number().int(),
    next_attempt_at: z.string().nullable(),
    policy: RecoveryPolicyFieldsSchema,
    stats: RecoveryStatsSchema,
  })
  .meta({ id: 'AgentRecovery' });
