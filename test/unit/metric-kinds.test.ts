// Metric kinds: the `meta` declaration of the metrics message (shape and bounds), how a series'
// kind and unit are resolved (built-in names first, then the declaration, else a gauge), the
// SDK refusing a bad declaration, and the heartbeat delay computed at ingest.
import { describe, expect, it } from 'vitest';
import { MAX_METRIC_META, MetricsBody } from '../../server/broker/protocol.js';
import { heartbeatLatencyMs, isCounter, seriesMeta } from '../../server/domain/metric-series.js';
import { createAgentRuntime } from '../../server/agent-sdk/runtime.js';

const counters = { events_processed: 3, events_failed: 0, processing_ms: 1 };
const issues = (body: unknown) => {
  const r = MetricsBody.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

describe('the meta declaration of a metrics message', () => {
  it('accepts counters and gauges with optional units beside the numbers', () => {
    const body = { ...counters, findings: 4, queue: 2, meta: { findings: { kind: 'counter', unit: 'findings' }, queue: { kind: 'gauge' } } };
    expect(MetricsBody.parse(body)).toEqual(body);
    expect(MetricsBody.parse(counters)).toEqual(counters);
  });

  it('refuses bad names, kinds, units, extra keys and too many names, naming where', () => {
    expect(issues({ ...counters, meta: { 'Bad Name': { kind: 'gauge' } } })).toEqual(['meta.Bad Name']);
    expect(issues({ ...counters, meta: { a: { kind: 'rate' } } })).toEqual(['meta.a.kind']);
    expect(issues({ ...counters, meta: { a: { kind: 'gauge', unit: 'x\u0007' } } })).toEqual(['meta.a.unit']);
    expect(issues({ ...counters, meta: { a: { kind: 'gauge', unit: 'u'.repeat(33) } } })).toEqual(['meta.a.unit']);
    expect(issues({ ...counters, meta: { a: { kind: 'gauge', scale: 2 } } })).toEqual(['meta.a']);
    expect(issues({ ...counters, meta: 'counter' })).toEqual(['meta']);
    const many = Object.fromEntries(Array.from({ length: MAX_METRIC_META + 1 }, (_, i) => [`m${i}`, { kind: 'gauge' }]));
    expect(issues({ ...counters, meta: many })).toEqual(['meta']);
  });

  it('never lets a declared name reach an object prototype', () => {
    const parsed = MetricsBody.safeParse(JSON.parse(`{"events_processed":1,"events_failed":0,"processing_ms":0,"meta":{"__proto__":{"kind":"counter"}}}`));
    const meta = parsed.success ? parsed.data.meta : {};
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.keys(meta ?? {})).toEqual([]);
    expect(({} as Record<string, unknown>).kind).toBeUndefined();
  });
});

describe('kind and unit of a series', () => {
  const declared = new Map([
    ['findings', { kind: 'counter' as const, unit: 'findings' }],
    ['events_processed', { kind: 'gauge' as const, unit: 'x' }],
    ['cpu_percent', { kind: 'counter' as const, unit: 'ticks' }],
  ]);

  it('built-in names keep their own kinds whatever is declared', () => {
    expect(seriesMeta('events_processed', declared)).toEqual({ kind: 'counter', unit: 'events' });
    expect(seriesMeta('cpu_percent', declared)).toEqual({ kind: 'gauge', unit: '%' });
    expect(isCounter('events_processed', declared)).toBe(true);
    expect(isCounter('cpu_percent', declared)).toBe(false);
    expect(seriesMeta('disk_read_bytes')).toEqual({ kind: 'counter', unit: 'bytes' });
    expect(seriesMeta('response_ms')).toEqual({ kind: 'gauge', unit: 'ms' });
    expect(seriesMeta('heartbeat_latency_ms')).toEqual({ kind: 'gauge', unit: 'ms' });
  });

  it('declared names as declared, undeclared ones gauges without a unit', () => {
    expect(seriesMeta('findings', declared)).toEqual({ kind: 'counter', unit: 'findings' });
    expect(isCounter('findings', declared)).toBe(true);
    expect(seriesMeta('temperature', declared)).toEqual({ kind: 'gauge', unit: null });
    expect(isCounter('temperature', declared)).toBe(false);
    expect(isCounter('constructor', declared)).toBe(false);
    expect(seriesMeta('toString', declared)).toEqual({ kind: 'gauge', unit: null });
  });
});

describe('the SDK', () => {
  const environment = { agentId: 'security-00000000-0000-4000-8000-000000000000', natsUrl: 'nats://127.0.0.1:1', creds: '', config: {} };
  it('refuses a bad declaration when the agent is created', () => {
    expect(() => createAgentRuntime({ environment, handleSignals: false, metricsMeta: { Findings: { kind: 'counter' } } as never })).toThrow(/metricsMeta: Findings/);
    expect(() => createAgentRuntime({ environment, handleSignals: false, metricsMeta: { findings: { kind: 'sum' } } as never })).toThrow(/findings\.kind/);
    expect(() => createAgentRuntime({ environment, handleSignals: false, metricsMeta: { findings: { kind: 'counter', unit: 'findings' } } })).not.toThrow();
  });
});

describe('heartbeat delay', () => {
  it('is the received time minus the heartbeat timestamp, a time without a zone being UTC', () => {
    const at = new Date('2026-11-24T10:00:01.250Z');
    expect(heartbeatLatencyMs('2026-11-24T10:00:00.000Z', at)).toBe(1250);
    expect(heartbeatLatencyMs('2026-11-24T10:00:00', at)).toBe(1250);
    expect(heartbeatLatencyMs('2026-11-24T11:00:00+01:00', at)).toBe(1250);
    expect(heartbeatLatencyMs('2026-11-24T10:00:02.000Z', at)).toBe(-750);
  });
});
