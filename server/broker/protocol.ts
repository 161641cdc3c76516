// The bodies of the agent protocol (DESIGN.md): what agents publish and what the control
// subject carries, as zod schemas shared by the AMS consumer, the agent SDK and the tests.
import { z } from 'zod';
import { LOG_LEVELS } from '../domain/agent-config.js';
import { jsonLimitProblem, MAX_JSON_DEPTH, MAX_JSON_NODES } from '../domain/json-limits.js';
import { METRIC_KINDS, METRIC_NAME_PATTERN } from '../domain/metric-series.js';

/** What an agent may say about itself in a heartbeat or status message: the words the protocol knows. */
export const AGENT_REPORTED_STATUSES = ['ready', 'degraded', 'stopping'] as const;
export type AgentReportedStatus = (typeof AGENT_REPORTED_STATUSES)[number];

/**
 * A heartbeat's `status` word. Agents built elsewhere say `healthy`, `ok` or `RUNNING`: a
 * heartbeat is proof of life whatever the word, so any short word is taken (and kept as the
 * agent's reported status); only the protocol's own words mean something to the AMS. 20
 * characters at most (the stored column), letters, digits, `_`, `.` and `-`.
 */
export const REPORTED_STATUS_WORD = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$/;

/** Whether a reported status word is one the protocol defines. */
export function isKnownReportedStatus(word: string): word is AgentReportedStatus {
  return (AGENT_REPORTED_STATUSES as readonly string[]).includes(word);
}

/** Messages larger than this are dropped by the consumer before parsing. */
export const MAX_AGENT_MESSAGE_BYTES = 64 * 1024;

// ISO 8601; a timestamp without an offset is taken as UTC (other runtimes often omit it).
const Timestamp = z.iso.datetime({ offset: true, local: true });
const Count = z.number().int().nonnegative();
const FiniteNumber = z.number().finite();

/** At most this many names in one `meta` declaration. */
export const MAX_METRIC_META = 100;

/** What one of the agent's numbers is: a counter (cumulative, charted as a per-second rate) or a gauge, and its unit. */
export const MetricMeta = z
  .object({
    kind: z.enum(METRIC_KINDS),
    // No control characters: the unit is shown as is ("<unit>/s" for a counter).
    unit: z.string().min(1).max(32).regex(/^[^\p{C}]+$/u, 'must be printable text').optional(),
  })
  .strict();
export type MetricMeta = z.infer<typeof MetricMeta>;

/** `{name: {kind, unit?}}` for the agent's own numbers; names as metric names (lower-case letters, digits, _ and .). */
export const MetricsMeta = z
  .record(z.string().regex(METRIC_NAME_PATTERN, 'must be a metric name (lower-case letters, digits, _ and .)'), MetricMeta)
  .refine((m) => Object.keys(m).length <= MAX_METRIC_META, `at most ${MAX_METRIC_META} names`);
export type MetricsMeta = z.infer<typeof MetricsMeta>;

/**
 * Counters since the agent started, plus any other numbers the agent keeps; `agent_id` is
 * optional; `meta` declares what the numbers are (undeclared ones are gauges, except the
 * counters named here).
 */
export const MetricsBody = z
  .object({
    agent_id: z.string().optional(),
    events_processed: Count,
    events_failed: Count,
    processing_ms: z.number().finite().nonnegative(),
    meta: MetricsMeta.optional(),
  })
  .catchall(FiniteNumber);
export type MetricsBody = z.infer<typeof MetricsBody>;

export const HeartbeatBody = z.object({
  agent_id: z.string(),
  status: z.string().regex(REPORTED_STATUS_WORD, 'must be a word of at most 20 letters, digits, _, . or -'),
  timestamp: Timestamp,
  /** Seconds since the agent process started. */
  uptime: z.number().finite().nonnegative(),
  metrics: z.record(z.string(), FiniteNumber).optional(),
});
export type HeartbeatBody = z.infer<typeof HeartbeatBody>;

export const StatusBody = z.object({
  agent_id: z.string().optional(),
  status: z.enum(AGENT_REPORTED_STATUSES),
  detail: z.string().max(4096).optional(),
});
export type StatusBody = z.infer<typeof StatusBody>;

export const LogBody = z.object({
  agent_id: z.string().optional(),
  level: z.enum(LOG_LEVELS),
  message: z.string().max(16 * 1024),
  timestamp: Timestamp,
  context: z
    .record(z.string(), z.unknown())
    .refine((c) => jsonLimitProblem(c) === undefined, `must nest at most ${MAX_JSON_DEPTH} levels and hold at most ${MAX_JSON_NODES} keys and elements`)
    .optional(),
});
export type LogBody = z.infer<typeof LogBody>;

export const ControlRequest = z.discriminatedUnion('action', [
  z.object({ action: z.literal('ping') }),
  z.object({ action: z.literal('reload') }),
  z.object({ action: z.literal('stop') }),
  z.object({
    action: z.literal('config.update'),
    version: z.number().int().positive(),
    config: z.record(z.string(), z.unknown()),
  }),
]);
export type ControlRequest = z.infer<typeof ControlRequest>;

export const ControlReply = z.object({ ok: z.boolean(), error: z.string().optional() });
export type ControlReply = z.infer<typeof ControlReply>;
