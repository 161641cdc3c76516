// The recovery policy editor's rules, as pure functions: parse the form's text fields into a
// policy and name every field that is wrong. The AMS validates again; its 400 details are
// shown against the same fields.
import type { FieldIssue } from '../../api/errors';
import type { RecoveryPolicy } from '../../api/types';

export type PolicyDraft = Record<Exclude<keyof RecoveryPolicy, 'auto_recovery' | 'notification_channels'>, string> & {
  auto_recovery: boolean;
  notification_channels: string;
};

export const POLICY_FIELDS: Array<{ key: Exclude<keyof PolicyDraft, 'auto_recovery'>; label: string; hint: string }> = [
  { key: 'max_retries', label: 'Max retries', hint: 'attempts before giving up (whole number, 0 or more)' },
  { key: 'retry_delay', label: 'Retry delay (s)', hint: 'wait before the first attempt' },
  { key: 'backoff_factor', label: 'Backoff factor', hint: 'each delay is the previous times this (1 or more)' },
  { key: 'max_backoff', label: 'Max backoff (s)', hint: 'longest wait between attempts' },
  { key: 'recovery_timeout', label: 'Recovery timeout (s)', hint: 'how long an attempt may take' },
  { key: 'escalation_threshold', label: 'Escalation threshold', hint: 'failed attempts before an alert (whole number, 1 or more)' },
  { key: 'jitter', label: 'Jitter', hint: 'random spread of each delay, 0 to 0.25' },
  { key: 'stable_after', label: 'Stable after (s)', hint: 'healthy this long resets the attempt count' },
  { key: 'notification_channels', label: 'Notification channels', hint: 'comma-separated' },
];

export function draftFromPolicy(p: RecoveryPolicy): PolicyDraft {
  return {
    auto_recovery: p.auto_recovery,
    max_retries: String(p.max_retries),
    retry_delay: String(p.retry_delay),
    backoff_factor: String(p.backoff_factor),
    max_backoff: String(p.max_backoff),
    recovery_timeout: String(p.recovery_timeout),
    escalation_threshold: String(p.escalation_threshold),
    jitter: String(p.jitter),
    stable_after: String(p.stable_after),
    notification_channels: (p.notification_channels ?? []).join(', '),
  };
}

export function parsePolicy(d: PolicyDraft): { policy: RecoveryPolicy | null; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const num = (key: keyof PolicyDraft, opts: { int?: boolean; min?: number; max?: number; above?: number }): number => {
    const text = String(d[key]).trim();
    const v = Number(text);
    if (text === '' || !Number.isFinite(v)) {
      issues.push({ path: key, reason: 'must be a number' });
      return NaN;
    }
    if (opts.int && !Number.isInteger(v)) issues.push({ path: key, reason: 'must be a whole number' });
    else if (opts.min !== undefined && v < opts.min) issues.push({ path: key, reason: `must be at least ${opts.min}` });
    else if (opts.above !== undefined && v <= opts.above) issues.push({ path: key, reason: `must be more than ${opts.above}` });
    else if (opts.max !== undefined && v > opts.max) issues.push({ path: key, reason: `must be at most ${opts.max}` });
    return v;
  };
  const policy: RecoveryPolicy = {
    auto_recovery: d.auto_recovery,
    max_retries: num('max_retries', { int: true, min: 0 }),
    retry_delay: num('retry_delay', { min: 0 }),
    backoff_factor: num('backoff_factor', { min: 1 }),
    max_backoff: num('max_backoff', { min: 0 }),
    recovery_timeout: num('recovery_timeout', { above: 0 }),
    escalation_threshold: num('escalation_threshold', { int: true, min: 1 }),
    jitter: num('jitter', { min: 0, max: 0.25 }),
    stable_after: num('stable_after', { min: 0 }),
    notification_channels: d.notification_channels
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
  if (!issues.some((i) => i.path === 'max_backoff' || i.path === 'retry_delay') && policy.max_backoff < policy.retry_delay) {
    issues.push({ path: 'max_backoff', reason: 'must be at least the retry delay' });
  }
  return { policy: issues.length ? null : policy, issues };
}

/** The AMS's 400 details, keyed by the form field they name (`policy.jitter` → `jitter`). */
export function issuesByField(issues: FieldIssue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const key = i.path.split('.').filter((p) => p !== 'body' && p !== 'policy')[0] ?? '';
    out[key] = out[key] ? `${out[key]}; ${i.reason}` : i.reason;
  }
  return out;
}

/** Delay before attempt n per the policy (without jitter), as the AMS computes it. */
export function delayBefore(p: Pick<RecoveryPolicy, 'retry_delay' | 'backoff_factor' | 'max_backoff'>, attempt: number): number {
  return Math.min(p.retry_delay * p.backoff_factor ** Math.max(0, attempt - 1), p.max_backoff);
}
