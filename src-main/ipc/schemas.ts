// Request validation for every IPC channel that takes an argument. The renderer is treated
// as untrusted input: unknown keys are refused, strings are bounded.
import { z } from 'zod';

const id = z.string().min(1).max(200);
const severity = z.enum(['info', 'warning', 'critical']);
const count = z.number().int().min(0).max(10_000_000);

const url = z.string().min(1).max(2000);
// The profile store says what is wrong with a list (empty, too long, a URL twice); this only bounds it.
const urls = z.array(url).max(100);

export const newProfileRequest = z.strictObject({
  name: z.string().min(1).max(100),
  mode: z.enum(['host', 'attach']),
  url: url.optional(),
  urls: urls.optional(),
  username: z.string().max(200).optional(),
});

export const profileIdRequest = z.strictObject({ id });

export const updateProfileRequest = z.strictObject({
  id,
  patch: z.strictObject({
    name: z.string().min(1).max(100).optional(),
    url: url.optional(),
    urls: urls.optional(),
    username: z.string().max(200).optional(),
  }),
});

export const streamDownRequest = z.strictObject({ url, attempts: z.number().int().min(1).max(1_000_000) });

export const loginRequest = z.strictObject({ username: z.string().min(1).max(200), password: z.string().min(1).max(1000) });

export const credentialProfileRequest = z.strictObject({ profileId: id });

export const notificationUpdateRequest = z.strictObject({ enabled: z.boolean().optional(), minSeverity: severity.optional() });

/** Alerts come from the AMS stream through the renderer; extra fields are dropped. */
export const alertEventRequest = z.object({
  id,
  severity,
  title: z.string().min(1).max(500),
  agent_id: z.string().min(1).max(200).optional(),
  host_id: z.string().min(1).max(200).optional(),
  message: z.string().max(5000),
});

export const fleetCountsRequest = z.strictObject({ healthy: count, warning: count, critical: count, unknown: count });
