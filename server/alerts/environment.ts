// Alert settings from the AMS's environment: channels (webhook, SMTP), the default routing
// and the crash-loop rule. The variables holding secrets are removed from the environment once
// read, so that no child process (agents, nats-server) inherits them.
import { type Channel, DEFAULT_DELIVERY, DEFAULT_ROUTING, type Routing } from './channels.js';
import { type CrashLoopSettings, DEFAULT_CRASH_LOOP, SEVERITIES, type Severity } from './rules.js';

export const ALERT_ENV = {
  webhookUrl: 'OPMAS_ALERT_WEBHOOK_URL',
  smtpUrl: 'OPMAS_SMTP_URL',
  smtpFrom: 'OPMAS_SMTP_FROM',
  smtpTo: 'OPMAS_SMTP_TO',
  minSeverity: 'OPMAS_ALERT_MIN_SEVERITY',
  channels: 'OPMAS_ALERT_CHANNELS',
  escalationChannels: 'OPMAS_ALERT_ESCALATION_CHANNELS',
  crashLoopCount: 'OPMAS_ALERT_CRASH_LOOP_COUNT',
  crashLoopWindow: 'OPMAS_ALERT_CRASH_LOOP_WINDOW',
} as const;

/** Variables that hold secrets; read once and deleted from the environment. */
export const ALERT_SECRET_ENV: readonly string[] = [ALERT_ENV.webhookUrl, ALERT_ENV.smtpUrl];

export interface AlertEnvironment {
  channels: Channel[];
  routing: Routing;
  crashLoop: CrashLoopSettings;
  /** What did not parse, to log at start (never with the secret values). */
  problems: string[];
}

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function takeAlertEnvironment(env: NodeJS.ProcessEnv): AlertEnvironment {
  const problems: string[] = [];
  const channels: Channel[] = [];
  const stamp = { enabled: true, min_severity: null, source: 'environment' as const, updated_at: null, updated_by: null };

  const webhookUrl = env[ALERT_ENV.webhookUrl];
  if (webhookUrl) {
    if (/^https?:\/\//i.test(webhookUrl) && URL.canParse(webhookUrl)) {
      channels.push({ ...stamp, name: 'webhook', type: 'webhook', settings: { ...DEFAULT_DELIVERY }, secrets: { url: webhookUrl } });
    } else {
      problems.push(`${ALERT_ENV.webhookUrl} is not an http(s) URL; the webhook channel is off`);
    }
  }

  const smtpUrl = env[ALERT_ENV.smtpUrl];
  if (smtpUrl) {
    const email = parseSmtpUrl(smtpUrl);
    const to = list(env[ALERT_ENV.smtpTo]);
    if (!email) problems.push(`${ALERT_ENV.smtpUrl} must look like smtp://user:password@host:587 or smtps://user:password@host:465; the email channel is off`);
    else if (to.length === 0) problems.push(`${ALERT_ENV.smtpTo} (comma-separated recipients) is required with ${ALERT_ENV.smtpUrl}; the email channel is off`);
    else {
      channels.push({
        ...stamp,
        name: 'email',
        type: 'email',
        settings: { ...DEFAULT_DELIVERY, host: email.host, port: email.port, secure: email.secure, user: email.user, from: env[ALERT_ENV.smtpFrom] || `opmas-ams@${email.host}`, to },
        secrets: { password: email.password },
      });
    }
  }
  for (const name of ALERT_SECRET_ENV) delete env[name];

  const routing: Routing = { ...DEFAULT_ROUTING };
  const min = env[ALERT_ENV.minSeverity]?.trim().toLowerCase();
  if (min) {
    if ((SEVERITIES as readonly string[]).includes(min)) routing.min_severity = min as Severity;
    else problems.push(`${ALERT_ENV.minSeverity} must be one of ${SEVERITIES.join(', ')}; using ${routing.min_severity}`);
  }
  if (env[ALERT_ENV.channels] !== undefined) routing.channels = list(env[ALERT_ENV.channels]);
  routing.escalation_channels = list(env[ALERT_ENV.escalationChannels]);

  const crashLoop = { ...DEFAULT_CRASH_LOOP };
  const count = env[ALERT_ENV.crashLoopCount];
  if (count !== undefined && count !== '') {
    const n = Number(count);
    if (Number.isInteger(n) && n >= 2 && n <= 1000) crashLoop.count = n;
    else problems.push(`${ALERT_ENV.crashLoopCount} must be an integer from 2 to 1000; using ${crashLoop.count}`);
  }
  const windowS = env[ALERT_ENV.crashLoopWindow];
  if (windowS !== undefined && windowS !== '') {
    const n = Number(windowS);
    if (Number.isFinite(n) && n > 0 && n <= 86_400) crashLoop.windowS = n;
    else problems.push(`${ALERT_ENV.crashLoopWindow} must be seconds from 0 to 86400; using ${crashLoop.windowS}`);
  }
  return { channels, routing, crashLoop, problems };
}

export function parseSmtpUrl(text: string): { host: string; port: number; secure: boolean; user: string | null; password: string | null } | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') return undefined;
  if (!u.hostname) return undefined;
  const secure = u.protocol === 'smtps:';
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    user: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
  };
}
