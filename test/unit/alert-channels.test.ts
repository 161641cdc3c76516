// Channel routing, masking, secret sealing, error scrubbing, retry delays, message formats and
// the environment variables, as pure functions.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type Channel,
  createSecretBox,
  DEFAULT_DELIVERY,
  DEFAULT_ROUTING,
  DESKTOP_CHANNEL,
  MASK,
  maskUrl,
  presentChannel,
  routeAlert,
  scrub,
  secretsOf,
} from '../../server/alerts/channels.js';
import { ALERT_SECRET_ENV, parseSmtpUrl, takeAlertEnvironment } from '../../server/alerts/environment.js';
import { emailMessage, retryDelayS, webhookBody, type AlertPayload } from '../../server/alerts/senders.js';

const stamp = { enabled: true, min_severity: null, source: 'database' as const, updated_at: null, updated_by: null };
const webhook = (name: string, over: Partial<Channel> = {}): Channel =>
  ({ ...stamp, name, type: 'webhook', settings: { ...DEFAULT_DELIVERY }, secrets: { url: 'https://hooks.example.org/services/T000/B000/XXXXSECRET?token=abc123' }, ...over }) as Channel;
const email = (name: string): Channel => ({
  ...stamp,
  name,
  type: 'email',
  settings: { ...DEFAULT_DELIVERY, host: 'smtp.example.org', port: 587, secure: false, user: 'ams', from: 'ams@example.org', to: ['ops@example.org'] },
  secrets: { password: 'hunter2-secret' },
});

describe('routeAlert', () => {
  const channels = [DESKTOP_CHANNEL, webhook('slack'), email('mail'), webhook('pager', { min_severity: 'critical' }), webhook('off', { enabled: false })];

  it('sends to every enabled channel at or above the default minimum when the route names none', () => {
    const names = routeAlert({ severity: 'warning', rule: 'agent_failed', routing: DEFAULT_ROUTING, channels }).map((t) => t.name);
    expect(names).toEqual(['desktop', 'slack', 'mail']);
    expect(routeAlert({ severity: 'info', rule: 'x', routing: DEFAULT_ROUTING, channels })).toEqual([]);
  });

  it("adds the policy's channels for critical alerts, then the event's, then the escalation default", () => {
    const routing = { min_severity: 'critical' as const, channels: ['slack'], escalation_channels: ['mail'] };
    expect(routeAlert({ severity: 'critical', rule: 'crash_loop', routing, channels, policyChannels: ['pager'], eventChannels: ['mail'] })).toEqual([
      { name: 'slack', via: 'default' },
      { name: 'pager', via: 'escalation' },
    ]);
    expect(routeAlert({ severity: 'critical', rule: 'crash_loop', routing, channels, eventChannels: ['desktop'] }).map((t) => t.name)).toEqual(['slack', 'desktop']);
    expect(routeAlert({ severity: 'critical', rule: 'crash_loop', routing, channels }).map((t) => t.name)).toEqual(['slack', 'mail']);
    // A warning-level escalation still goes the escalation route.
    expect(routeAlert({ severity: 'warning', rule: 'recovery_escalated', routing, channels, policyChannels: ['mail'] }).map((t) => t.name)).toEqual(['mail']);
  });

  it("respects each channel's minimum severity and enabled flag, and keeps unknown names for the record", () => {
    const routing = { ...DEFAULT_ROUTING, channels: ['pager', 'off', 'nope'] };
    expect(routeAlert({ severity: 'warning', rule: 'x', routing, channels }).map((t) => t.name)).toEqual(['nope']);
    expect(routeAlert({ severity: 'critical', rule: 'x', routing, channels }).map((t) => t.name)).toEqual(['pager', 'nope']);
  });
});

describe('secrets', () => {
  it('are masked when a channel is shown', () => {
    const shown = JSON.stringify([presentChannel(webhook('slack')), presentChannel(email('mail'))]);
    expect(shown).not.toContain('XXXXSECRET');
    expect(shown).not.toContain('abc123');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain(`https://hooks.example.org/${MASK}`);
    expect(maskUrl('not a url')).toBe(MASK);
  });

  it('are scrubbed from error texts, path and query included', () => {
    const c = webhook('slack');
    const text = 'fetch https://hooks.example.org/services/T000/B000/XXXXSECRET?token=abc123 failed; path /services/T000/B000/XXXXSECRET; q token=abc123';
    const out = scrub(text, secretsOf(c));
    expect(out).not.toContain('XXXXSECRET');
    expect(out).not.toContain('abc123');
    expect(scrub('535 auth failed for hunter2-secret', secretsOf(email('m')))).toBe(`535 auth failed for ${MASK}`);
  });

  it('are sealed with authenticated encryption that only the same key opens', () => {
    const key = randomBytes(32);
    const box = createSecretBox(key);
    const sealed = box.seal({ url: 'https://x.example/secret' });
    expect(sealed).not.toContain('secret');
    expect(box.open(sealed)).toEqual({ url: 'https://x.example/secret' });
    expect(createSecretBox(randomBytes(32)).open(sealed)).toBeUndefined();
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(box.open(tampered)).toBeUndefined();
  });
});

describe('delivery', () => {
  it('retry delays double from retry_delay_s, capped, and honour a longer Retry-After', () => {
    const s = { ...DEFAULT_DELIVERY, retry_delay_s: 1.5 };
    expect([2, 3, 4].map((n) => retryDelayS(s, n))).toEqual([1.5, 3, 6]);
    expect(retryDelayS({ ...s, retry_delay_s: 200 }, 4)).toBe(300);
    expect(retryDelayS(s, 2, 10)).toBe(10);
    expect(retryDelayS(s, 2, 1000)).toBe(300);
  });

  const alert: AlertPayload = {
    id: 7, rule: 'crash_loop', severity: 'critical', status: 'open', agent_id: 'security-1', title: 'Agent security-1 is crash-looping',
    message: '3 failures within 5 min', details: { failures: 3 }, count: 1, first_seen_at: 't0', last_seen_at: 't1',
    acknowledged_at: null, acknowledged_by: null, resolved_at: null,
  };

  it('webhook bodies are Slack-compatible with the structured alert beside', () => {
    const body = webhookBody('raised', alert) as { text: string; blocks: Array<{ type: string }>; alert: AlertPayload; event: string };
    expect(body.text).toBe('[CRITICAL] Agent security-1 is crash-looping: 3 failures within 5 min');
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section']);
    expect(body.alert).toEqual(alert);
    expect(body.event).toBe('alert.raised');
    expect((webhookBody('resolved', alert) as { text: string }).text.startsWith('[RESOLVED]')).toBe(true);
  });

  it('emails carry the headline in the subject and the facts in the body', () => {
    const m = emailMessage('escalated', alert);
    expect(m.subject).toBe('[OPMAS] [CRITICAL] [ESCALATED] Agent security-1 is crash-looping');
    expect(m.text).toContain('Agent: security-1');
    expect(m.text).toContain('"failures": 3');
  });
});

describe('environment', () => {
  it('builds the webhook and email channels, the routing and the crash-loop rule, and removes the secrets', () => {
    const env: NodeJS.ProcessEnv = {
      OPMAS_ALERT_WEBHOOK_URL: 'https://hooks.example.org/T/B/secret',
      OPMAS_SMTP_URL: 'smtps://ams%40example.org:p%40ss@mail.example.org',
      OPMAS_SMTP_FROM: 'OPMAS <ams@example.org>',
      OPMAS_SMTP_TO: 'a@example.org, b@example.org',
      OPMAS_ALERT_MIN_SEVERITY: 'CRITICAL',
      OPMAS_ALERT_CHANNELS: 'webhook',
      OPMAS_ALERT_ESCALATION_CHANNELS: 'email,desktop',
      OPMAS_ALERT_CRASH_LOOP_COUNT: '4',
      OPMAS_ALERT_CRASH_LOOP_WINDOW: '90',
    };
    const out = takeAlertEnvironment(env);
    expect(out.problems).toEqual([]);
    expect(out.channels.map((c) => [c.name, c.type, c.source])).toEqual([['webhook', 'webhook', 'environment'], ['email', 'email', 'environment']]);
    const mail = out.channels[1] as Extract<Channel, { type: 'email' }>;
    expect(mail.settings).toMatchObject({ host: 'mail.example.org', port: 465, secure: true, user: 'ams@example.org', from: 'OPMAS <ams@example.org>', to: ['a@example.org', 'b@example.org'] });
    expect(mail.secrets.password).toBe('p@ss');
    expect(out.routing).toEqual({ min_severity: 'critical', channels: ['webhook'], escalation_channels: ['email', 'desktop'] });
    expect(out.crashLoop).toEqual({ count: 4, windowS: 90 });
    for (const name of ALERT_SECRET_ENV) expect(env[name]).toBeUndefined();
  });

  it('reports what does not parse without echoing secrets', () => {
    const out = takeAlertEnvironment({ OPMAS_ALERT_WEBHOOK_URL: 'ftp://secret-value', OPMAS_SMTP_URL: 'smtp://u:pw@h', OPMAS_ALERT_CRASH_LOOP_COUNT: '1', OPMAS_ALERT_MIN_SEVERITY: 'loud' });
    expect(out.channels).toEqual([]);
    expect(out.problems).toHaveLength(4);
    expect(out.problems.join('\n')).not.toContain('secret-value');
    expect(out.problems.join('\n')).not.toContain('pw');
    expect(parseSmtpUrl('smtp://mail.example.org')).toEqual({ host: 'mail.example.org', port: 587, secure: false, user: null, password: null });
  });
});
