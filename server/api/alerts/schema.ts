// Request and response schemas of /alerts: validation, OpenAPI and the console's types.
import { z } from 'zod';
import { ALERT_SORTS, ALERT_STATUSES, RULE_IDS, SEVERITIES } from '../../alerts/rules.js';
import { pageOf, paginationQuery, repeated } from '../common.js';

export const Severity = z.enum(SEVERITIES).meta({ id: 'AlertSeverity' });
export const AlertStatus = z.enum(ALERT_STATUSES).meta({ id: 'AlertStatus' });

export const AlertSchema = z
  .object({
    id: z.number().int(),
    rule: z.string().describe(`One of ${RULE_IDS.join(', ')}`),
    severity: Severity,
    status: AlertStatus,
    agent_id: z.string().nullable().describe('The agent it is about; it may since have been deleted'),
    title: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).describe('Rule-specific facts (exit code, metric/value/threshold, config diff, ...) and resolved_reason once resolved'),
    count: z.number().int().describe('How many times the condition was seen while this alert was unresolved'),
    first_seen_at: z.string(),
    last_seen_at: z.string(),
    acknowledged_at: z.string().nullable(),
    acknowledged_by: z.string().nullable(),
    resolved_at: z.string().nullable(),
    silence_id: z.number().int().nullable().describe('The silence that muted its notification (it was recorded and shown, not sent); null when it was notified as routed'),
    host_id: z.string().nullable().describe('The host the alert is about (host_down: its supervisor is gone); null for an alert about an agent'),
  })
  .meta({ id: 'Alert' });

export const AlertPage = pageOf(AlertSchema, 'AlertPage');

/** `?status=open&status=acknowledged` or `?status=open,acknowledged`. */
const oneOrMore = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean)),
    z.array(z.enum(values)).max(10).optional(),
  );

const LabelSelector = z.string().max(200).regex(/^[^:]+:.*$/, 'must be key:value').transform((s) => {
  const at = s.indexOf(':');
  return [s.slice(0, at), s.slice(at + 1)] as const;
});

export const ListAlertsQuery = z.strictObject({
  ...paginationQuery,
  status: oneOrMore(ALERT_STATUSES).describe('open, acknowledged or resolved; repeat or comma-separate for several'),
  severity: oneOrMore(SEVERITIES).describe('info, warning or critical; repeat or comma-separate for several'),
  agent_id: z.string().min(1).max(128).optional(),
  rule: oneOrMore(RULE_IDS).describe(`${RULE_IDS.join(', ')}; repeat or comma-separate for several`),
  label: repeated(LabelSelector).describe("key:value of the alert's agent; repeat to require several labels"),
  sort: z.enum(ALERT_SORTS).default('newest').describe('newest (default), severity (critical first, then newest) or last_seen (latest activity first)'),
});

export const BulkAckBody = z.strictObject({
  ids: z.array(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)).min(1).max(500).describe('Alerts to acknowledge; each is acknowledged on its own'),
});

export const BulkAckAnswer = z
  .object({
    acknowledged: z.array(AlertSchema),
    skipped: z.array(z.object({ id: z.number().int(), code: z.string(), message: z.string() })).describe('Alerts not acknowledged and why (resolved, acknowledged already, no such alert)'),
  })
  .meta({ id: 'BulkAckResult' });

export const AlertRuleSchema = z
  .object({
    id: z.enum(RULE_IDS),
    description: z.string(),
    severity: Severity.describe('The severity of its alerts; for rules whose severity comes from the health reason, the lowest it gives'),
    severity_from: z.enum(['rule', 'reason']).describe('rule: always `severity`; reason: the level of the health reason that raised it (warning or critical)'),
  })
  .meta({ id: 'AlertRule' });
export const AlertRuleList = z.object({ items: z.array(AlertRuleSchema) }).meta({ id: 'AlertRuleList' });

export const AlertIdParams = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export const DeliverySchema = z
  .object({
    id: z.number().int(),
    alert_id: z.number().int(),
    channel: z.string(),
    channel_type: z.string(),
    kind: z.enum(['raised', 'escalated', 'resolved']),
    status: z.enum(['pending', 'retrying', 'delivered', 'failed']),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'AlertDelivery' });
