// Notification channels: their shapes, how they are shown (secrets masked), how secrets are
// kept at rest (AES-256-GCM under a key derived from the AMS signing key), and routing: which
// channels an alert goes to. Pure apart from the cipher.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { atLeast, type RuleId, type Severity } from './rules.js';

export const CHANNEL_TYPES = ['webhook', 'email', 'desktop'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export type ChannelSource = 'database' | 'environment' | 'builtin';

export interface DeliverySettings {
  /** Seconds one attempt may take. */
  timeout_s: number;
  max_attempts: number;
  /** Seconds before the second attempt; doubles for each further one (fractions allowed). */
  retry_delay_s: number;
}

export type WebhookSettings = DeliverySettings;
export interface WebhookSecrets {
  url: string;
}

export interface EmailSettings extends DeliverySettings {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  user: string | null;
  from: string;
  to: string[];
}
export interface EmailSecrets {
  password: string | null;
}

interface ChannelBase {
  name: string;
  enabled: boolean;
  /** The channel only takes alerts at or above this severity (null: any). */
  min_severity: Severity | null;
  source: ChannelSource;
  updated_at: string | null;
  updated_by: string | null;
}

export type Channel =
  | (ChannelBase & { type: 'webhook'; settings: WebhookSettings; secrets: WebhookSecrets })
  | (ChannelBase & { type: 'email'; settings: EmailSettings; secrets: EmailSecrets })
  | (ChannelBase & { type: 'desktop'; settings: Record<string, never>; secrets: Record<string, never> });

export const DEFAULT_DELIVERY: DeliverySettings = { timeout_s: 10, max_attempts: 4, retry_delay_s: 2 };

/** What the console desktop app listens to; always there, cannot be changed. */
export const DESKTOP_CHANNEL: Channel = {
  name: 'desktop',
  type: 'desktop',
  enabled: true,
  min_severity: null,
  source: 'builtin',
  settings: {},
  secrets: {},
  updated_at: null,
  updated_by: null,
};

export const MASK = '********';

/** A webhook URL with everything after the origin hidden: the path and query are the secret. */
export function maskUrl(url: string): string {
  try {
    return `${new URL(url).origin}/${MASK}`;
  } catch {
    return MASK;
  }
}

/** A channel as the API shows it: secrets masked, never in full. */
export function presentChannel(c: Channel): Record<string, unknown> {
  const base = { name: c.name, type: c.type, enabled: c.enabled, min_severity: c.min_severity, source: c.source, read_only: c.source !== 'database', updated_at: c.updated_at, updated_by: c.updated_by };
  if (c.type === 'webhook') return { ...base, settings: { ...c.settings, url: maskUrl(c.secrets.url) } };
  if (c.type === 'email') return { ...base, settings: { ...c.settings, password: c.secrets.password ? MASK : null } };
  return { ...base, settings: {} };
}

/** Every secret a channel holds, to scrub from error messages before they are stored or logged. */
export function secretsOf(c: Channel): string[] {
  if (c.type === 'webhook') {
    const out = [c.secrets.url];
    try {
      const u = new URL(c.secrets.url);
      if (u.pathname.length > 1) out.push(u.pathname);
      if (u.search) out.push(u.search, u.search.slice(1));
      if (u.password) out.push(u.password, decodeURIComponent(u.password));
    } catch {
      // not a URL: the whole string is all there is to hide
    }
    return out.filter((s) => s.length >= 4);
  }
  if (c.type === 'email' && c.secrets.password) return [c.secrets.password];
  return [];
}

export function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(MASK);
  return out;
}

/** Authenticated encryption of channel secrets at rest; the key comes from the AMS signing key. */
export function createSecretBox(signingKey: Uint8Array) {
  const key = Buffer.from(hkdfSync('sha256', signingKey, Buffer.from('opmas-ams'), Buffer.from('notification-channel-secrets v1'), 32));
  return {
    seal(value: unknown): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
    },
    /** Undefined when the value was sealed under another key (OPMAS_JWT_SECRET changed) or is damaged. */
    open<T>(sealed: string): T | undefined {
      try {
        if (!sealed.startsWith('v1.')) return undefined;
        const raw = Buffer.from(sealed.slice(3), 'base64url');
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as T;
      } catch {
        return undefined;
      }
    },
  };
}
export type SecretBox = ReturnType<typeof createSecretBox>;

export interface Routing {
  /** Every alert at or above this severity goes to `channels`. */
  min_severity: Severity;
  /** The default route's channels; null means every enabled channel. */
  channels: string[] | null;
  /** Where critical and escalated alerts go when the agent's recovery policy names no channels. */
  escalation_channels: string[];
}

export const DEFAULT_ROUTING: Routing = { min_severity: 'warning', channels: null, escalation_channels: [] };

export interface RouteTarget {
  name: string;
  /** Why the alert goes there: the default route or the escalation route. */
  via: 'default' | 'escalation';
}

/**
 * The channels an alert goes to: the default route for anything at or above its severity, plus,
 * for critical alerts and escalated recoveries, the channels of the agent's recovery policy
 * (else those named by the event, else the routing's escalation channels). A channel's own
 * minimum severity and its enabled flag apply to both routes. Unknown names are kept, so the
 * delivery records say what was wrong.
 */
export function routeAlert(opts: {
  severity: Severity;
  rule: RuleId | string;
  routing: Routing;
  channels: readonly Channel[];
  policyChannels?: string[];
  eventChannels?: string[];
}): RouteTarget[] {
  const byName = new Map(opts.channels.map((c) => [c.name, c]));
  const out = new Map<string, RouteTarget>();
  const add = (name: string, via: RouteTarget['via']) => {
    const channel = byName.get(name);
    if (channel && (!channel.enabled || (channel.min_severity && !atLeast(opts.severity, channel.min_severity)))) return;
    if (!out.has(name)) out.set(name, { name, via });
  };
  if (atLeast(opts.severity, opts.routing.min_severity)) {
    for (const name of opts.routing.channels ?? opts.channels.filter((c) => c.enabled).map((c) => c.name)) add(name, 'default');
  }
  if (opts.severity === 'critical' || opts.rule === 'recovery_escalated') {
    const named = [opts.policyChannels, opts.eventChannels].find((list) => list && list.length > 0) ?? opts.routing.escalation_channels;
    for (const name of named) add(name, 'escalation');
  }
  return [...out.values()];
}
