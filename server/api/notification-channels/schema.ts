// Schemas of /notification-channels: named webhook and email channels (secrets masked in
// answers) and the alert routing.
import { z } from 'zod';
import { SEVERITIES } from '../../alerts/rules.js';
import { MASK } from '../../alerts/channels.js';

const ChannelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, _ or -, starting with a letter or digit');
const Severity = z.enum(SEVERITIES);
const EMAIL = /^(?:[^<>\r\n]*<)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/;
const Address = z.string().max(320).regex(EMAIL, 'must be an email address (name@example.org or "Name <name@example.org>")');

const delivery = {
  timeout_s: z.number().min(0.1).max(120).optional().describe('Seconds one attempt may take (default 10)'),
  max_attempts: z.number().int().min(1).max(10).optional().describe('Attempts before the delivery fails (default 4)'),
  retry_delay_s: z.number().min(0).max(300).optional().describe('Seconds before the second attempt, doubling for each further one (default 2)'),
};

const WebhookUrl = z
  .string()
  .max(2048)
  .refine((u) => u.includes(MASK) || (/^https?:\/\//i.test(u) && URL.canParse(u)), 'must be an http(s) URL');

/** Fields GET answers that a PUT may send back unchanged. */
const echoed = {
  enabled: z.boolean().optional(),
  min_severity: Severity.nullable().optional().describe('The channel takes only alerts at or above this severity'),
  source: z.enum(['database', 'environment', 'builtin']).optional().describe('As answered by GET; environment and built-in entries are read-only and skipped'),
  read_only: z.boolean().optional(),
  updated_at: z.string().nullable().optional(),
  updated_by: z.string().nullable().optional(),
};

export const ChannelInput = z.discriminatedUnion('type', [
  z.strictObject({
    name: ChannelName,
    type: z.literal('webhook'),
    ...echoed,
    settings: z.strictObject({ url: WebhookUrl.optional().describe('The receiver, e.g. a Slack incoming webhook; omit or send the masked value back to keep the stored one'), ...delivery }),
  }),
  z.strictObject({
    name: ChannelName,
    type: z.literal('email'),
    ...echoed,
    settings: z.strictObject({
      host: z.string().min(1).max(253),
      port: z.number().int().min(1).max(65535).optional().describe('Default 465 with secure, else 587'),
      secure: z.boolean().optional().describe('TLS from the first byte (port 465); otherwise STARTTLS when offered'),
      user: z.string().max(256).nullable().optional(),
      password: z.string().max(1024).nullable().optional().describe('Omit or send the masked value back to keep the stored one; null clears it'),
      from: Address,
      to: z.array(Address).min(1).max(50),
      ...delivery,
    }),
  }),
  z.strictObject({ name: ChannelName, type: z.literal('desktop'), ...echoed, settings: z.strictObject({}).optional() }),
]);

export const RoutingSchema = z
  .object({
    min_severity: Severity.describe('Every alert at or above this severity goes to `channels`'),
    channels: z.array(ChannelName).max(50).nullable().describe('The default route; null means every enabled channel'),
    escalation_channels: z.array(ChannelName).max(50).describe("Where critical and escalated alerts go when the agent's recovery policy names no channels"),
    source: z.enum(['database', 'environment']).describe('Whether the routing was set through the API or comes from the environment'),
  })
  .meta({ id: 'AlertRouting' });

export const PutChannelsBody = z
  .strictObject({
    channels: z.array(ChannelInput).max(100).describe('Every channel managed through the API; those not listed are removed'),
    routing: z
      .strictObject({
        min_severity: Severity.optional(),
        channels: z.array(ChannelName).max(50).nullable().optional(),
        escalation_channels: z.array(ChannelName).max(50).optional(),
        source: z.enum(['database', 'environment']).optional(),
      })
      .optional(),
  })
  .meta({ id: 'PutNotificationChannels' });

export const ChannelView = z
  .object({
    name: z.string(),
    type: z.enum(['webhook', 'email', 'desktop']),
    enabled: z.boolean(),
    min_severity: Severity.nullable(),
    source: z.enum(['database', 'environment', 'builtin']),
    read_only: z.boolean(),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
    settings: z.record(z.string(), z.unknown()).describe(`Secrets are masked (${MASK}): the webhook URL after its origin, the SMTP password`),
  })
  .meta({ id: 'NotificationChannel' });

export const ChannelsView = z.object({ channels: z.array(ChannelView), routing: RoutingSchema }).meta({ id: 'NotificationChannels' });

export const ChannelNameParams = z.object({ name: z.string().max(64) });

export const ChannelTestResultSchema = z
  .object({
    channel: z.string(),
    type: z.enum(['webhook', 'email', 'desktop']),
    ok: z.boolean().describe('Whether the receiver accepted the message'),
    attempts: z.number().int(),
    error: z.string().nullable().describe('Why it failed (secrets scrubbed)'),
    detail: z.string().describe('What happened, in a sentence'),
    duration_ms: z.number(),
    sent_at: z.string(),
  })
  .meta({ id: 'ChannelTestResult' });
