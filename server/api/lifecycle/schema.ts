// Schemas of the lifecycle endpoints: start/stop/restart, an agent's status, its history and
// health, and the fleet status aggregation.
import { z } from 'zod';
import { HEALTH_STATUSES, PROCESS_STATUSES, RECOVERY_STATUSES } from '../agents/schema.js';
import { pageOf, paginationQuery } from '../common.js';
import { STATUS_EVENT_TYPES } from '../../services/status.js';

const Metrics = z.record(z.string(), z.number()).describe('Latest values: resource sample (cpu_percent, memory_mb, ...), error_rate, response_ms and what the agent reports');

export const AgentStatusSchema = z
  .object({
    agent_id: z.string(),
    process_status: z.enum(PROCESS_STATUSES),
    health_status: z.enum(HEALTH_STATUSES),
    recovery_status: z.enum(RECOVERY_STATUSES),
    pid: z.number().int().nullable(),
    start_time: z.string().nullable(),
    last_heartbeat: z.string().nullable(),
    last_error: z.string().nullable(),
    uptime_s: z.number().nullable(),
    reported_status: z.string().nullable(),
    exit_code: z.number().int().nullable(),
    exit_signal: z.string().nullable(),
    config_version: z.number().int().nullable().describe('The stored config version the running process has'),
    stable_config_version: z.number().int().nullable().describe('The last version the agent ran healthy under for stable_after seconds'),
    adopted: z.boolean().describe('The process was left running by an earlier supervisor and taken over'),
    metrics: Metrics,
  })
  .meta({ id: 'AgentStatus' });

const IsoTime = z.iso.datetime({ offset: true });

export const StatusHistoryQuery = z
  .object({
    ...paginationQuery,
    from: IsoTime.optional().describe('Oldest time included (ISO 8601)'),
    to: IsoTime.optional().describe('Newest time, excluded (ISO 8601)'),
    event_type: z.enum(STATUS_EVENT_TYPES).optional(),
  })
  .superRefine((q, ctx) => {
    if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
  });

export const StatusHistoryEntrySchema = z
  .object({
    id: z.number().int(),
    agent_id: z.string(),
    event_type: z.string(),
    from_status: z.string().nullable(),
    to_status: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).meta({
      description:
        'What caused the change. A `process_exited` row carries `stderr_tail`: the first and last lines the process wrote on stderr (at most 21, each at most 400 characters), so a launch that fails says why.',
    }),
    created_at: z.string(),
  })
  .meta({ id: 'StatusHistoryEntry' });

export const StatusHistoryPage = pageOf(StatusHistoryEntrySchema, 'StatusHistoryPage');

export const HealthReasonSchema = z
  .looseObject({
    kind: z.enum(['heartbeat', 'threshold', 'host']),
    level: z.enum(['warning', 'critical', 'unknown']),
    message: z.string(),
    metric: z.string().optional(),
    value: z.number().optional(),
    threshold: z.number().optional(),
    missed: z.number().optional(),
    last_heartbeat: z.string().nullable().optional(),
  })
  .meta({ id: 'HealthReason' });

export const AgentHealthSchema = z
  .object({
    agent_id: z.string(),
    health: z.enum(HEALTH_STATUSES),
    reasons: z.array(HealthReasonSchema),
    last_heartbeat: z.string().nullable(),
    heartbeat_interval: z.number(),
    metrics: Metrics,
  })
  .meta({ id: 'AgentHealth' });

const Counts = z
  .object({
    total: z.number().int(),
    process: z.record(z.string(), z.number().int()),
    health: z.record(z.string(), z.number().int()),
    recovery: z.record(z.string(), z.number().int()),
  })
  .meta({ id: 'StatusCounts' });

const Dependency = z.looseObject({ status: z.enum(['ok', 'degraded', 'down']), latency_ms: z.number().nullable(), error: z.string().optional() });

export const FleetStatusSchema = z
  .object({
    agents: Counts,
    by_type: z.record(z.string(), Counts),
    by_label: z.record(z.string(), Counts).describe('Keyed by "<label key>:<label value>"'),
    dependencies: z.object({ database: Dependency, broker: Dependency, supervisor: Dependency }),
    generated_at: z.string(),
  })
  .meta({ id: 'FleetStatus' });
