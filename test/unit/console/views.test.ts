// Pure parts of the agent views: config diff and JSON errors, the recovery policy form,
// timeline sentences and the row under the cursor, log filters, formatting and routes.
import { describe, expect, it } from 'vitest';
import { diffConfigs, diffSummary, flatten, parseConfigText } from '../../../src-renderer/src/features/config/diff';
import { delayBefore, draftFromPolicy, issuesByField, parsePolicy } from '../../../src-renderer/src/features/recovery/policy-form';
import { describeTransition, rowAt } from '../../../src-renderer/src/features/timeline/timeline';
import { levelAtLeast, lineMatches } from '../../../src-renderer/src/features/logs/log-filter';
import { bytes, compactDateTime, dateTime, relativeTime, shortDuration } from '../../../src-renderer/src/features/common/format';
import { agentPath, parseRoute } from '../../../src-renderer/src/router';
import { describeError, ApiError, NetworkError, isMissingEndpoint } from '../../../src-renderer/src/api/errors';
import type { RecoveryPolicy } from '../../../src-renderer/src/api/types';

describe('configuration diff', () => {
  it('names every key added, removed or changed between two versions, nested keys by dotted path', () => {
    const a = { log_level: 'INFO', heartbeat_interval: 30, thresholds: { cpu_percent: { warning: 80 } }, topics: ['a'] };
    const b = { log_level: 'DEBUG', thresholds: { cpu_percent: { warning: 80, critical: 95 } }, topics: ['a'], extra: true };
    const d = diffConfigs(a, b);
    expect(d.map((e) => [e.key, e.kind])).toEqual([
      ['extra', 'added'],
      ['heartbeat_interval', 'removed'],
      ['log_level', 'changed'],
      ['thresholds.cpu_percent.critical', 'added'],
      ['thresholds.cpu_percent.warning', 'same'],
      ['topics', 'same'],
    ]);
    expect(diffSummary(d)).toBe('2 added, 1 removed, 1 changed');
    expect(diffSummary(diffConfigs(a, a))).toBe('no difference');
    expect(flatten({ empty: {} })).toEqual({ empty: {} });
  });

  it('says where the editor text is not JSON, and refuses anything but an object', () => {
    const bad = parseConfigText('{\n  "a": 1,\n  "b": \n}');
    expect(bad.ok).toBe(false);
    expect(bad).toEqual({ ok: false, message: 'expected a value, found "}"', line: 4, column: 1 });
    expect(parseConfigText('{"a": "x\n"}')).toMatchObject({ ok: false, line: 1, column: 9 });
    expect(parseConfigText('{"a": 1} x')).toMatchObject({ ok: false, message: 'expected the end of the text, found "x"' });
    expect(parseConfigText('{"a": 1,')).toMatchObject({ ok: false, message: 'expected a key in double quotes, the text ended' });
    expect(parseConfigText('[1, 2]')).toMatchObject({ ok: false, message: expect.stringContaining('JSON object') });
    expect(parseConfigText('{"log_level": "DEBUG"}')).toEqual({ ok: true, value: { log_level: 'DEBUG' } });
  });
});

describe('recovery policy form', () => {
  const policy: RecoveryPolicy = {
    auto_recovery: true, max_retries: 3, retry_delay: 5, backoff_factor: 2, max_backoff: 300, recovery_timeout: 60, escalation_threshold: 3, jitter: 0.1,
    stable_after: 300, notification_channels: ['ops'],
  };

  it('round-trips a policy through the form, fractional seconds included', () => {
    const draft = { ...draftFromPolicy(policy), retry_delay: '0.5', notification_channels: 'ops, pager ,' };
    expect(parsePolicy(draft)).toEqual({ policy: { ...policy, retry_delay: 0.5, notification_channels: ['ops', 'pager'] }, issues: [] });
  });

  it('names every bad field', () => {
    const draft = { ...draftFromPolicy(policy), max_retries: '2.5', jitter: '0.3', backoff_factor: '0.5', retry_delay: 'soon', escalation_threshold: '0' };
    const { policy: parsed, issues } = parsePolicy(draft);
    expect(parsed).toBeNull();
    expect(issuesByField(issues)).toEqual({
      max_retries: 'must be a whole number',
      jitter: 'must be at most 0.25',
      backoff_factor: 'must be at least 1',
      retry_delay: 'must be a number',
      escalation_threshold: 'must be at least 1',
    });
    expect(issuesByField(parsePolicy({ ...draftFromPolicy(policy), max_backoff: '2' }).issues)).toEqual({ max_backoff: 'must be at least the retry delay' });
  });

  it("maps the AMS's 400 details to fields and computes the backoff as the AMS does", () => {
    expect(issuesByField([{ path: 'jitter', reason: 'Too big' }, { path: 'policy.max_retries', reason: 'Too small' }])).toEqual({ jitter: 'Too big', max_retries: 'Too small' });
    expect([1, 2, 3, 4].map((n) => delayBefore({ retry_delay: 5, backoff_factor: 2, max_backoff: 30 }, n))).toEqual([5, 10, 20, 30]);
  });
});

describe('status timeline', () => {
  it('says what happened and why', () => {
    expect(describeTransition({ event_type: 'process_exited', from_status: 'running', to_status: 'failed', details: { exit_code: null, signal: 'SIGKILL' } })).toBe(
      'Exited unexpectedly (killed by SIGKILL)',
    );
    expect(describeTransition({ event_type: 'start_requested', from_status: 'stopped', to_status: 'starting', details: { actor: 'admin' } })).toBe('Start requested by admin');
    expect(describeTransition({ event_type: 'start_requested', from_status: 'failed', to_status: 'starting', details: { cause: 'recovery', attempt: 2, trigger: 'process_exit' } })).toBe(
      'Restarted by recovery, attempt 2 (process exit)',
    );
    expect(describeTransition({ event_type: 'start_requested', from_status: 'registered', to_status: 'starting', details: { cause: 'autostart' } })).toBe('Started automatically with the AMS');
    expect(describeTransition({ event_type: 'process_stopped', from_status: 'stopping', to_status: 'stopped', details: { exit_code: 0, graceful: true } })).toBe(
      'Stopped gracefully (exit code 0)',
    );
    expect(describeTransition({ event_type: 'recovery_attempt', from_status: 'none', to_status: 'in_progress', details: { attempt: 2, max_attempts: 3, trigger: 'auto' } })).toBe(
      'Recovery attempt 2 of 3 (auto)',
    );
    expect(describeTransition({ event_type: 'config_rejected', from_status: null, to_status: null, details: { version: 4, error: 'bad key' } })).toBe(
      'Configuration version 4 rejected by the agent: bad key',
    );
    expect(describeTransition({ event_type: 'something_new', from_status: null, to_status: null, details: {} })).toBe('Something new');
  });

  it('finds the row in effect at a moment (rows newest first)', () => {
    const rows = [{ created_at: '2026-01-01T00:03:00Z' }, { created_at: '2026-01-01T00:02:00Z' }, { created_at: '2026-01-01T00:01:00Z' }];
    const s = (iso: string) => Date.parse(iso) / 1000;
    expect(rowAt(rows, s('2026-01-01T00:02:30Z'))).toBe(1);
    expect(rowAt(rows, s('2026-01-01T00:03:00Z'))).toBe(0);
    expect(rowAt(rows, s('2026-01-01T00:00:30Z'))).toBe(-1);
  });
});

describe('log filters', () => {
  it('keeps a level and the more severe ones, and matches text case-insensitively', () => {
    expect(levelAtLeast('ERROR', 'WARNING')).toBe(true);
    expect(levelAtLeast('INFO', 'WARNING')).toBe(false);
    expect(levelAtLeast('INFO', '')).toBe(true);
    expect(lineMatches({ level: 'WARNING', message: 'Disk almost FULL' }, { level: 'INFO', q: 'full' })).toBe(true);
    expect(lineMatches({ level: 'DEBUG', message: 'Disk almost FULL' }, { level: 'INFO', q: 'full' })).toBe(false);
  });
});

describe('formatting and routes', () => {
  it('formats relative times, durations and sizes', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(relativeTime(null, now)).toBe('never');
    expect(relativeTime('2026-01-01T11:59:59.500Z', now)).toBe('just now');
    expect(relativeTime('2026-01-01T11:59:48Z', now)).toBe('12 s ago');
    expect(relativeTime('2026-01-01T09:55:00Z', now)).toBe('2 h 5 min ago');
    expect(relativeTime(now + 30_000, now)).toBe('in 30 s');
    expect(shortDuration(3 * 86_400 + 3600)).toBe('3 d 1 h');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(null)).toBe('—');
    expect(dateTime('not a date')).toBe('—');
    const noon = new Date(2026, 0, 1, 12, 0, 0).getTime();
    expect(compactDateTime(new Date(2026, 0, 1, 9, 5, 7).getTime(), noon)).toBe('09:05:07');
    expect(compactDateTime(new Date(2025, 11, 31, 23, 59, 59).getTime(), noon)).toBe('2025-12-31 23:59:59');
    expect(compactDateTime('not a date', noon)).toBe('—');
  });

  it('parses and builds the console routes', () => {
    expect(parseRoute('/')).toEqual({ name: 'dashboard' });
    expect(parseRoute('/agents/wifi-1/logs')).toEqual({ name: 'agent', id: 'wifi-1', tab: 'logs', at: null });
    expect(parseRoute('/agents/wifi-1/activity', '?at=1700000000000')).toMatchObject({ tab: 'activity', at: 1700000000000 });
    expect(parseRoute('/agents/wifi-1/nope')).toEqual({ name: 'not-found', path: '/agents/wifi-1/nope' });
    expect(parseRoute('/alerts')).toEqual({ name: 'alerts' });
    expect(agentPath('wifi-1')).toBe('/agents/wifi-1');
    expect(agentPath('wifi-1', 'activity', 1700000000000.4)).toBe('/agents/wifi-1/activity?at=1700000000000');
  });

  it('explains errors: validation fields, a missing endpoint, an unreachable AMS', () => {
    const invalid = new ApiError(400, 'validation_failed', 'Invalid request', [{ path: 'config.heartbeat_interval', reason: 'must be at most 3600', in: 'body' }]);
    expect(describeError(invalid)).toBe('Invalid request. config.heartbeat_interval must be at most 3600');
    const missing = new ApiError(404, 'not_found', 'No route for GET /api/v1/alerts', undefined, undefined, 'GET /api/v1/alerts');
    expect(isMissingEndpoint(missing)).toBe(true);
    expect(isMissingEndpoint(new ApiError(404, 'agent_not_found', 'Agent "x" does not exist'))).toBe(false);
    // People read what failed, never an API path.
    expect(describeError(missing)).toBe('This AMS does not offer this yet (it is older than the console).');
    expect(describeError(new NetworkError('GET /api/v1/agents'))).toBe('The AMS did not answer: it may be stopped or unreachable.');
    expect(describeError(new ApiError(502, 'http_502', ''))).toBe('The AMS could not be reached through its proxy.');
    expect(describeError(new ApiError(500, 'internal', 'Failed at POST /api/v1/agents/x/start'))).toBe('Failed at the AMS.');
  });
});
