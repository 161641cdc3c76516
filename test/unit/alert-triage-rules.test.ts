// Pure pieces behind alert triage and the administration API: each rule's declared severity
// matches what it raises, silence states over time, the fleet's state counts walked back
// through the history, CSV cells of the audit export, and who may read audit rows live.
import { describe, expect, it } from 'vitest';
import type { AmsEvent, AmsEventInput } from '../../server/events/bus.js';
import { ALERT_RULES, DEFAULT_CRASH_LOOP, evaluateRules } from '../../server/alerts/rules.js';
import { silenceState } from '../../server/alerts/silences.js';
import { countsOverTime } from '../../server/services/state-counts.js';
import { csvField } from '../../server/security/audit.js';
import { mayRead } from '../../server/live/access.js';

const A = 'security-00000000-0000-4000-8000-000000000001';
let id = 1;
const ev = (input: AmsEventInput): AmsEvent => ({ ...input, id: id++, time: '2026-01-01T00:00:00.000Z' }) as AmsEvent;

describe('rule severities', () => {
  it('rules with a fixed severity raise exactly it; the others raise the reason level', () => {
    const events: AmsEventInput[] = [
      { type: 'status.changed', agent_id: A, from: 'running', to: 'failed', event_type: 'process_exited', details: {} },
      { type: 'health.changed', agent_id: A, from: 'healthy', to: 'critical', reasons: [{ kind: 'heartbeat', level: 'critical' }, { kind: 'threshold', metric: 'cpu_percent', level: 'critical' }] },
      { type: 'recovery.escalated', agent_id: A, attempt: 3 },
      { type: 'config.rolled_back', agent_id: A, version: 2, details: {} },
      { type: 'host.down', host_id: 'host-b', details: { reason: 'its lease expired' } },
      { type: 'host.down', host_id: 'host-c', details: { graceful: true } },
    ];
    const raised = events.flatMap((e) => evaluateRules(ev(e), { crashLoop: DEFAULT_CRASH_LOOP, recentFailures: 5, agentName: 'Sec' }).raise);
    for (const rule of ALERT_RULES) {
      const mine = raised.filter((r) => r.rule === rule.id);
      expect(mine.length, rule.id).toBeGreaterThan(0);
      if (rule.id === 'host_down') expect(mine.map((r) => r.details?.host_id)).toEqual(['host-b']); // a graceful stop raises nothing
      for (const s of mine) {
        if (rule.from === 'rule') expect(s.severity, rule.id).toBe(rule.severity);
        else expect(s.severity, rule.id).toBe('critical');
        // Agent alerts name the agent by its name; host alerts name the host.
        if (rule.id === 'host_down') expect(s.title).toContain('host-b');
        else expect(s.title, rule.id).toContain('Sec');
        expect(s.title, rule.id).not.toContain(A);
      }
    }
  });
});

describe('silence states', () => {
  const at = (iso: string) => new Date(iso);
  const s = { starts_at: at('2026-01-01T10:00:00Z'), ends_at: at('2026-01-01T11:00:00Z'), ended_at: null };
  it('is active between its start and end, then expired; ending it early makes it ended', () => {
    expect(silenceState(s, at('2026-01-01T09:59:59Z'))).toBe('pending');
    expect(silenceState(s, at('2026-01-01T10:30:00Z'))).toBe('active');
    expect(silenceState(s, at('2026-01-01T11:00:00Z'))).toBe('expired');
    expect(silenceState({ ...s, ended_at: at('2026-01-01T10:10:00Z') }, at('2026-01-01T10:30:00Z'))).toBe('ended');
  });
});

describe('state counts over time', () => {
  it('walks back from today through each transition, reading the counts at the end of each bucket', () => {
    // Today: 1 running (healthy), 1 failed (unknown). History (newest first):
    // t=25 a running→failed; t=15 b registered→starting... b: created at t=12 (null→registered), started t=15, running t=16, healthy t=17.
    const current = { process: new Map([['running', 1], ['failed', 1]]), health: new Map([['healthy', 1], ['unknown', 1]]) };
    const transitions = [
      { kind: 'process' as const, from_status: 'running', to_status: 'failed', at: 25 },
      { kind: 'health' as const, from_status: 'unknown', to_status: 'healthy', at: 17 },
      { kind: 'process' as const, from_status: 'starting', to_status: 'running', at: 16 },
      { kind: 'process' as const, from_status: 'registered', to_status: 'starting', at: 15 },
      { kind: 'process' as const, from_status: null, to_status: 'registered', at: 12 },
    ];
    const out = countsOverTime({ current, transitions, t: [0, 10, 20], stepMs: 10, toMs: 30, nowMs: 100 });
    // Ends: 10 (only a, running), 20 (a running, b running healthy), 30 (a failed, b running healthy).
    expect(out.process.running).toEqual([1, 2, 1]);
    expect(out.process.failed).toEqual([0, 0, 1]);
    expect(out.process.registered).toEqual([0, 0, 0]);
    // a's health: today "unknown" (current) — before b existed only a's unknown is counted.
    expect(out.health.unknown).toEqual([1, 1, 1]);
    expect(out.health.healthy).toEqual([0, 1, 1]);
  });
});

describe('audit CSV cells', () => {
  it('quotes what needs quoting and defuses text a spreadsheet would run as a formula', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"\nthere')).toBe('"say ""hi""\nthere"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('@evil')).toBe("'@evil");
    expect(csvField(-3)).toBe('-3');
    expect(csvField(null)).toBe('');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
  });
});

describe('live audit rows', () => {
  it('need audit:read, and are never sent to agent-bound principals', () => {
    const e = { type: 'audit.appended', agent_id: null };
    expect(mayRead({ permissions: new Set(['audit:read']) }, e)).toBe(true);
    expect(mayRead({ permissions: new Set(['alerts:read', 'agents:read']) }, e)).toBe(false);
    expect(mayRead({ permissions: new Set(['audit:read']), agentId: A }, e)).toBe(false);
  });
});
