// The built-in alert rules as pure functions: what each event raises and clears, the
// deduplication keys, the crash-loop window.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AmsEvent, AmsEventInput } from '../../server/events/bus.js';
import {
  ALERT_RULES,
  crashLoopCleared,
  DEFAULT_CRASH_LOOP,
  dedupKey,
  evaluateRules,
  higher,
  RULE_IDS,
  type RuleContext,
  slideWindow,
} from '../../server/alerts/rules.js';

let nextId = 1;
const ev = (input: AmsEventInput, time = '2026-01-01T00:00:00.000Z'): AmsEvent => ({ ...input, id: nextId++, time }) as AmsEvent;
const ctx = (over: Partial<RuleContext> = {}): RuleContext => ({ crashLoop: DEFAULT_CRASH_LOOP, recentFailures: 1, ...over });
const A = 'security-00000000-0000-4000-8000-000000000001';

const failed = (details: Record<string, unknown> = { exit_code: 3, signal: null }) =>
  ev({ type: 'status.changed', agent_id: A, from: 'running', to: 'failed', event_type: 'process_exited', details });
const statusTo = (to: 'running' | 'stopped' | 'starting') => ev({ type: 'status.changed', agent_id: A, from: 'starting', to, event_type: 'x', details: {} });
const health = (to: 'healthy' | 'warning' | 'critical' | 'unknown', reasons: Array<Record<string, unknown>>) =>
  ev({ type: 'health.changed', agent_id: A, from: 'healthy', to, reasons });

describe('rule table', () => {
  it('has one entry per rule id, each with a description', () => {
    expect(ALERT_RULES.map((r) => r.id)).toEqual([...RULE_IDS]);
    for (const r of ALERT_RULES) expect(r.description.length).toBeGreaterThan(20);
  });

  it('ignores alert events (no rule feeds on its own output)', () => {
    const e = ev({ type: 'alert.raised', agent_id: A, alert: { rule: 'agent_failed' } });
    expect(evaluateRules(e, ctx())).toEqual({ raise: [], clear: [] });
  });
});

describe('agent_failed', () => {
  it('raises a warning naming the exit code and the agent', () => {
    const { raise } = evaluateRules(failed(), ctx({ agentName: 'SecAgent' }));
    const s = raise.find((r) => r.rule === 'agent_failed')!;
    expect(s.severity).toBe('warning');
    expect(s.key).toBe(dedupKey('agent_failed', A));
    expect(s.title).toContain('SecAgent');
    expect(s.message).toContain('exit code 3');
    expect(s.details).toMatchObject({ exit_code: 3, event_type: 'process_exited', from: 'running' });
  });

  it('clears when the agent runs again or is stopped, not when it is starting', () => {
    expect(evaluateRules(statusTo('running'), ctx()).clear.map((c) => c.rule)).toContain('agent_failed');
    expect(evaluateRules(statusTo('stopped'), ctx()).clear.map((c) => c.rule)).toContain('agent_failed');
    expect(evaluateRules(statusTo('starting'), ctx()).clear.map((c) => c.rule)).not.toContain('agent_failed');
  });
});

describe('crash_loop', () => {
  it('raises a critical alert only once the failures in the window reach the count', () => {
    expect(evaluateRules(failed(), ctx({ recentFailures: 2 })).raise.map((r) => r.rule)).not.toContain('crash_loop');
    const s = evaluateRules(failed(), ctx({ recentFailures: 3 })).raise.find((r) => r.rule === 'crash_loop')!;
    expect(s.severity).toBe('critical');
    expect(s.details).toMatchObject({ failures: 3, threshold: 3, window_s: 300 });
    expect(s.message).toContain('3 failures within 5 min');
  });

  it('honours a configured count and window', () => {
    const crashLoop = { count: 5, windowS: 60 };
    expect(evaluateRules(failed(), ctx({ crashLoop, recentFailures: 4 })).raise.some((r) => r.rule === 'crash_loop')).toBe(false);
    expect(evaluateRules(failed(), ctx({ crashLoop, recentFailures: 5 })).raise.some((r) => r.rule === 'crash_loop')).toBe(true);
  });

  it('slides the window: old failures fall out, the new one is counted', () => {
    const t0 = 1_000_000;
    let w: number[] = [];
    w = slideWindow(w, t0, 10, true);
    w = slideWindow(w, t0 + 5_000, 10, true);
    expect(w).toHaveLength(2);
    w = slideWindow(w, t0 + 10_000, 10, true);
    expect(w).toEqual([t0 + 5_000, t0 + 10_000]);
    expect(slideWindow(w, t0 + 30_000, 10, false)).toEqual([]);
  });

  it('window never holds a time older than the window, whatever the sequence (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 50 }), fc.integer({ min: 1, max: 60 }), (gaps, windowS) => {
        let now = 0;
        let w: number[] = [];
        for (const g of gaps) {
          now += g;
          w = slideWindow(w, now, windowS, true);
          expect(w.every((t) => now - t < windowS * 1000)).toBe(true);
          expect(w[w.length - 1]).toBe(now);
        }
      }),
    );
  });

  it('clears once the agent has run a whole window without failing', () => {
    expect(crashLoopCleared({ lastFailureMs: 0, nowMs: 299_999, windowS: 300, processStatus: 'running' })).toBe(false);
    expect(crashLoopCleared({ lastFailureMs: 0, nowMs: 300_000, windowS: 300, processStatus: 'running' })).toBe(true);
    expect(crashLoopCleared({ lastFailureMs: 0, nowMs: 900_000, windowS: 300, processStatus: 'failed' })).toBe(false);
    expect(evaluateRules(statusTo('stopped'), ctx()).clear.map((c) => c.rule)).toContain('crash_loop');
  });
});

describe('heartbeat_missed', () => {
  const hb = (level: string) => ({ kind: 'heartbeat', level, message: `missed 1 heartbeat (last seen 45 s ago)`, missed: 1 });

  it('raises at the reason level and keeps the reason in details', () => {
    const s = evaluateRules(health('warning', [hb('warning')]), ctx()).raise.find((r) => r.rule === 'heartbeat_missed')!;
    expect(s.severity).toBe('warning');
    expect(s.message).toContain('missed 1 heartbeat');
    expect(s.details.reasons).toEqual([hb('warning')]);
    expect(evaluateRules(health('critical', [hb('critical')]), ctx()).raise.find((r) => r.rule === 'heartbeat_missed')!.severity).toBe('critical');
  });

  it('is not raised by threshold reasons, and clears when no heartbeat reason remains', () => {
    const threshold = { kind: 'threshold', metric: 'cpu_percent', value: 97, threshold: 90, level: 'critical' };
    const out = evaluateRules(health('critical', [threshold]), ctx());
    expect(out.raise.map((r) => r.rule)).toEqual(['resource_threshold']);
    expect(out.clear.map((c) => c.rule)).toContain('heartbeat_missed');
    expect(evaluateRules(health('critical', [hb('critical')]), ctx()).clear.map((c) => c.rule)).not.toContain('heartbeat_missed');
  });
});

describe('resource_threshold', () => {
  it('raises one alert per metric, keyed by metric, with value and threshold', () => {
    const reasons = [
      { kind: 'threshold', metric: 'cpu_percent', value: 97.123, threshold: 90, level: 'critical' },
      { kind: 'threshold', metric: 'memory_mb', value: 600, threshold: 512, level: 'warning' },
    ];
    const raised = evaluateRules(health('critical', reasons), ctx()).raise;
    expect(raised.map((r) => [r.key, r.severity])).toEqual([
      [dedupKey('resource_threshold', A, 'cpu_percent'), 'critical'],
      [dedupKey('resource_threshold', A, 'memory_mb'), 'warning'],
    ]);
    expect(raised[0].details).toMatchObject({ metric: 'cpu_percent', value: 97.123, threshold: 90 });
    expect(raised[0].message).toContain('97.12');
  });

  it('clears every metric no longer over, keeping those still over', () => {
    const still = [{ kind: 'threshold', metric: 'memory_mb', value: 600, threshold: 512, level: 'warning' }];
    const clear = evaluateRules(health('warning', still), ctx()).clear.find((c) => c.rule === 'resource_threshold')!;
    expect(clear.keep).toEqual([dedupKey('resource_threshold', A, 'memory_mb')]);
    const healthy = evaluateRules(health('healthy', []), ctx()).clear.find((c) => c.rule === 'resource_threshold')!;
    expect(healthy.keep).toEqual([]);
  });
});

describe('recovery_escalated and config_rolled_back', () => {
  it('escalation is critical, names attempts and error, and clears on recovery success', () => {
    const e = ev({ type: 'recovery.escalated', agent_id: A, attempt: 3, max_attempts: 3, trigger: 'process_exit', error: 'exit code 1', details: { notification_channels: ['ops'] } });
    const s = evaluateRules(e, ctx()).raise[0];
    expect(s).toMatchObject({ rule: 'recovery_escalated', severity: 'critical' });
    expect(s.message).toContain('3/3 attempts');
    expect(s.details).toMatchObject({ attempt: 3, trigger: 'process_exit', notification_channels: ['ops'] });
    expect(evaluateRules(ev({ type: 'recovery.succeeded', agent_id: A }), ctx()).clear.map((c) => c.rule)).toEqual(['recovery_escalated']);
  });

  it('rollback carries the diff and clears when a newer configuration is applied', () => {
    const diff = { log_level: { from: 'DEBUG', to: 'INFO' } };
    const e = ev({ type: 'config.rolled_back', agent_id: A, version: 6, details: { from_version: 5, to_version: 4, new_version: 6, diff, reason: 'crash loop within stable_after' } });
    const s = evaluateRules(e, ctx()).raise[0];
    expect(s).toMatchObject({ rule: 'config_rolled_back', severity: 'warning' });
    expect(s.details).toMatchObject({ diff, version: 6 });
    expect(s.message).toBe(`Rolled back from version 5 to the settings of version 4 (stored as version 6): crash loop within stable_after.`);
    const [applied6] = evaluateRules(ev({ type: 'config.applied', agent_id: A, version: 6 }), ctx()).clear;
    expect(applied6.rule).toBe('config_rolled_back');
    // Applying the rollback's own version does not clear it; a newer version does.
    expect(applied6.when!(s.details)).toBe(false);
    const [applied7] = evaluateRules(ev({ type: 'config.applied', agent_id: A, version: 7 }), ctx()).clear;
    expect(applied7.when!(s.details)).toBe(true);
  });
});

describe('evaluateRules', () => {
  it('never clears a key the same event raises', () => {
    const reasons = [{ kind: 'threshold', metric: 'cpu_percent', value: 97, threshold: 90, level: 'critical' }];
    const { raise, clear } = evaluateRules(health('critical', reasons), ctx());
    for (const c of clear) for (const r of raise.filter((x) => x.rule === c.rule)) expect(c.keep).toContain(r.key);
  });

  it('higher() keeps the more severe', () => {
    expect(higher('warning', 'critical')).toBe('critical');
    expect(higher('critical', 'info')).toBe('critical');
    expect(higher('info', 'info')).toBe('info');
  });
});
