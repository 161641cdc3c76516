// Sending one notification to one channel: the Slack-compatible webhook body and the email,
// each attempt bounded by a timeout, retried with exponential backoff when the failure may
// pass. Errors are scrubbed of the channel's secrets before anyone sees them.
import { type Channel, type DeliverySettings, scrub, secretsOf } from './channels.js';

export type NotificationKind = 'raised' | 'escalated' | 'resolved';

/** The alert fields a notification carries (the API's Alert shape). */
export interface AlertPayload {
  id: number;
  rule: string;
  severity: string;
  status: string;
  agent_id: string | null;
  title: string;
  message: string;
  details: Record<string, unknown>;
  count: number;
  first_seen_at: string;
  last_seen_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    /** Seconds the receiver asked us to wait (HTTP Retry-After). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

const headline = (kind: NotificationKind, a: AlertPayload) =>
  kind === 'resolved' ? `[RESOLVED] ${a.title}` : `[${a.severity.toUpperCase()}]${kind === 'escalated' ? ' [ESCALATED]' : ''} ${a.title}`;

function factLines(a: AlertPayload): Array<[string, string]> {
  return [
    ['Rule', a.rule],
    ['Severity', a.severity],
    ['Status', a.status],
    ['Agent', a.agent_id ?? '(fleet)'],
    ['Count', String(a.count)],
    ['First seen', a.first_seen_at],
    ['Last seen', a.last_seen_at],
    ...(a.resolved_at ? ([['Resolved', a.resolved_at]] as Array<[string, string]>) : []),
  ];
}

/** Slack-compatible JSON (`text` + `blocks`) with the structured alert beside it for other receivers. */
export function webhookBody(kind: NotificationKind, alert: AlertPayload): Record<string, unknown> {
  const text = `${headline(kind, alert)}: ${alert.message}`;
  return {
    text,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: headline(kind, alert).slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: alert.message.slice(0, 3000) } },
      { type: 'section', fields: factLines(alert).slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })) },
    ],
    event: `alert.${kind}`,
    alert,
  };
}

export function emailMessage(kind: NotificationKind, alert: AlertPayload): { subject: string; text: string } {
  const facts = factLines(alert).map(([k, v]) => `${k}: ${v}`).join('\n');
  return {
    subject: `[OPMAS] ${headline(kind, alert)}`.slice(0, 200),
    text: `${alert.message}\n\n${facts}\nAlert id: ${alert.id}\n\nDetails:\n${JSON.stringify(alert.details, null, 2)}\n`,
  };
}

async function sendWebhook(channel: Extract<Channel, { type: 'webhook' }>, kind: NotificationKind, alert: AlertPayload, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(channel.secrets.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'opmas-ams' },
      body: JSON.stringify(webhookBody(kind, alert)),
      // A redirect could carry the body (and the secret path) elsewhere: treat it as a failure.
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(channel.settings.timeout_s * 1000)]),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (signal.aborted) throw new DeliveryError('the AMS is shutting down', false);
    const reason = e.name === 'TimeoutError' ? `no answer within ${channel.settings.timeout_s} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new DeliveryError(`webhook request failed: ${reason}`, true);
  }
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return;
  const retryAfter = Number(res.headers.get('retry-after'));
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  throw new DeliveryError(`webhook answered HTTP ${res.status}`, retryable, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
}

const RETRYABLE_SMTP_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNRESET', 'ECONNREFUSED', 'EPROTOCOL']);

async function sendEmail(channel: Extract<Channel, { type: 'email' }>, kind: NotificationKind, alert: AlertPayload, signal: AbortSignal): Promise<void> {
  const s = channel.settings;
  const timeoutMs = s.timeout_s * 1000;
  // Loaded when the first email goes out, not at every start of the AMS.
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: s.host,
    port: s.port,
    secure: s.secure,
    auth: s.user ? { user: s.user, pass: channel.secrets.password ?? '' } : undefined,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
  });
  const abort = () => transport.close();
  signal.addEventListener('abort', abort, { once: true });
  try {
    const message = emailMessage(kind, alert);
    await transport.sendMail({ from: s.from, to: s.to, subject: message.subject, text: message.text, headers: { 'X-OPMAS-Alert-Id': String(alert.id) } });
  } catch (err) {
    if (signal.aborted) throw new DeliveryError('the AMS is shutting down', false);
    const e = err as Error & { code?: string; responseCode?: number; response?: string };
    const retryable = (e.code !== undefined && RETRYABLE_SMTP_CODES.has(e.code)) || (e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500);
    throw new DeliveryError(`SMTP delivery failed: ${e.code ?? ''}${e.responseCode ? ` ${e.responseCode}` : ''} ${e.message}`.trim(), retryable);
  } finally {
    signal.removeEventListener('abort', abort);
    transport.close();
  }
}

export interface DeliveryOutcome {
  ok: boolean;
  attempts: number;
  error: string | null;
}

/** Delay in seconds before attempt `n` (2-based): retry_delay × 2^(n-2), at most 5 minutes; a Retry-After wins when longer (capped alike). */
export function retryDelayS(settings: DeliverySettings, attempt: number, retryAfterS?: number): number {
  const base = Math.min(settings.retry_delay_s * 2 ** Math.max(0, attempt - 2), 300);
  return Math.min(Math.max(base, retryAfterS ?? 0), 300);
}

/**
 * Sends with retries. `onAttempt` is told after each failed attempt (to record progress). The
 * desktop channel needs no sending: the alert event is already on the live stream.
 */
export async function deliver(
  channel: Channel,
  kind: NotificationKind,
  alert: AlertPayload,
  opts: { signal: AbortSignal; onAttempt?: (attempt: number, error: string) => Promise<void> | void },
): Promise<DeliveryOutcome> {
  if (channel.type === 'desktop') return { ok: true, attempts: 1, error: null };
  const secrets = secretsOf(channel);
  let lastError = '';
  for (let attempt = 1; attempt <= channel.settings.max_attempts; attempt++) {
    if (attempt > 1) {
      const waitS = retryDelayS(channel.settings, attempt, undefined);
      const stopped = await sleep(waitS * 1000, opts.signal);
      if (stopped) return { ok: false, attempts: attempt - 1, error: `${lastError}; stopped by shutdown` };
    }
    try {
      if (channel.type === 'webhook') await sendWebhook(channel, kind, alert, opts.signal);
      else await sendEmail(channel, kind, alert, opts.signal);
      return { ok: true, attempts: attempt, error: lastError || null };
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, true);
      lastError = scrub(e.message, secrets).slice(0, 1000);
      await opts.onAttempt?.(attempt, lastError);
      if (!e.retryable) return { ok: false, attempts: attempt, error: lastError };
      if (e.retryAfterS !== undefined && attempt < channel.settings.max_attempts) {
        const extra = retryDelayS(channel.settings, attempt + 1, e.retryAfterS) - retryDelayS(channel.settings, attempt + 1);
        if (extra > 0 && (await sleep(extra * 1000, opts.signal))) return { ok: false, attempts: attempt, error: `${lastError}; stopped by shutdown` };
      }
    }
  }
  return { ok: false, attempts: channel.settings.max_attempts, error: lastError };
}

/** Waits; true when cut short by the signal. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
