// Chart logic: y axes fitted to the data (0.5 % CPU is not a flat line on 0-100), 24-hour local
// time ticks, a chart per reported metric with its unit (counters as rates), threshold lines
// from the config, and counters in live samples turned into rates.
import { describe, expect, it } from 'vitest';
import { dataYRange, legendTime, timeTick } from '../../../src-renderer/src/charts/chart-options';
import { appendSample, emptySeries } from '../../../src-renderer/src/charts/live-series';
import { chartDefs, formatterFor, thresholdsFrom, unitText } from '../../../src-renderer/src/features/metrics/metric-defs';
import { ALL_PERMISSIONS, PERMISSION_TEXT } from '../../../src-renderer/src/features/admin/permissions';

describe('axes', () => {
  it('fits the y range to the data, from 0 when the data is near it', () => {
    // 0.4-0.6 % CPU: its ups and downs fill the chart.
    const [lo, hi] = dataYRange(0.4, 0.6);
    expect(lo).toBeCloseTo(0.38);
    expect(hi).toBeCloseTo(0.62);
    expect(dataYRange(0, 0.6)[0]).toBe(0);
    expect(dataYRange(0.1, 0.6)[0]).toBe(0);
    const [lo2, hi2] = dataYRange(68, 70);
    expect(lo2).toBeCloseTo(67.8);
    expect(hi2).toBeCloseTo(70.2);
    expect(dataYRange(null, null)).toEqual([0, 1]);
    expect(dataYRange(0, 0)).toEqual([0, 1]);
    expect(dataYRange(5, 5)).toEqual([0, 6.25]);
  });

  it('ticks time in local 24-hour form, with the date at the first tick, at midnight and for day steps', () => {
    const t = new Date(2026, 2, 4, 14, 5, 9).getTime() / 1000;
    expect(timeTick(t, 10, false)).toBe('14:05:09');
    expect(timeTick(t, 300, false)).toBe('14:05');
    expect(timeTick(t, 300, true)).toBe('14:05\n03-04');
    expect(timeTick(new Date(2026, 2, 5).getTime() / 1000, 3600, false)).toBe('00:00\n03-05');
    expect(timeTick(t, 86_400, false)).toBe('2026-03-04');
    expect(legendTime(t)).toBe('2026-03-04 14:05:09');
  });
});

describe('the charts of an agent', () => {
  it('charts every reported number with its unit; counters read per second', () => {
    const meta = {
      cpu_percent: { kind: 'gauge' as const, unit: '%' },
      findings: { kind: 'counter' as const, unit: 'findings' },
      queue_depth: { kind: 'gauge' as const, unit: null },
      events_processed: { kind: 'counter' as const, unit: 'events' },
    };
    const defs = chartDefs(['cpu_percent', 'findings', 'queue_depth', 'events_processed', 'events_failed'], meta);
    const byId = Object.fromEntries(defs.map((d) => [d.id, d]));
    expect(defs.map((d) => d.id)).toEqual(['cpu', 'memory', 'disk', 'network', 'response', 'errors', 'heartbeat', 'events', 'metric-findings', 'metric-queue_depth']);
    expect(byId['metric-findings']).toMatchObject({ title: 'Findings', unit: 'findings/s' });
    expect(byId['metric-findings'].format(0.5)).toBe('0.5 findings/s');
    expect(byId['metric-queue_depth'].unit).toBe('');
    expect(byId.events.unit).toBe('events/s');
    expect(byId.cpu.threshold).toBe('cpu_percent');
    expect(unitText({ kind: 'gauge', unit: 'ratio' })).toBe('%');
    expect(formatterFor({ kind: 'counter', unit: 'bytes' })(2048)).toBe('2 KiB/s');
    expect(formatterFor({ kind: 'gauge', unit: 'ratio' })(0.125)).toBe('12.5 %');
    expect(formatterFor({ kind: 'gauge', unit: 'MiB' })(70.26)).toBe('70.3 MiB');
  });

  it("draws the config's thresholds (defaults unless overridden; null turns one off)", () => {
    expect(thresholdsFrom(undefined).cpu_percent).toEqual([
      { value: 80, level: 'warning' },
      { value: 95, level: 'critical' },
    ]);
    const t = thresholdsFrom({ cpu_percent: { warning: 50, critical: null }, queue: { critical: 10 } });
    expect(t.cpu_percent).toEqual([{ value: 50, level: 'warning' }]);
    expect(t.queue).toEqual([{ value: 10, level: 'critical' }]);
    expect(t.memory_mb).toHaveLength(2);
  });

  it('turns the cumulative counters of live samples into per-second rates (a drop is a restart)', () => {
    const s = emptySeries(['disk_read_bytes', 'memory_mb']);
    const opts = { stepS: 1, keepFromS: null, counters: new Set(['disk_read_bytes']) };
    appendSample(s, 1000, { disk_read_bytes: 1000, memory_mb: 10 }, opts);
    appendSample(s, 3000, { disk_read_bytes: 5000, memory_mb: 11 }, opts);
    appendSample(s, 5000, { disk_read_bytes: 400, memory_mb: 12 }, opts);
    expect(s.t).toEqual([1, 3, 5]);
    expect(s.cols.disk_read_bytes).toEqual([null, 2000, 200]);
    expect(s.cols.memory_mb).toEqual([10, 11, 12]);
  });
});

describe('the permission picker', () => {
  it('offers every permission (the type check ties the list to the AMS), each once', () => {
    expect([...ALL_PERMISSIONS].sort()).toEqual(Object.keys(PERMISSION_TEXT).sort());
    expect(new Set(ALL_PERMISSIONS).size).toBe(ALL_PERMISSIONS.length);
  });
});
