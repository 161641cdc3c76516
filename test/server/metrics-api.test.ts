// Metric series over the API: bucketing of a known series (gauges as means, counters as
// rates, error_rate and processing time per event, counter restarts), the names filter, the
// point bound, bad ranges, fleet aggregates and who may read them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { MAX_POINTS } from '../../server/domain/metric-series.js';

let t: TestAms;
let a: { id: string };
let b: { id: string };
/** Start of the known series: a whole hour, two hours ago. */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

async function resource(agentId: string, metric: string, points: Array<[number, number]>) {
  await t.ams.db.knex('agent_resource_metrics').insert(points.map(([ms, v]) => ({ agent_id: agentId, metric_type: metric, metric_value: v, created_at: at(ms) })));
}
async function reported(agentId: string, name: string, points: Array<[number, number]>) {
  await t.ams.db.knex('agent_metrics').insert(points.map(([ms, v]) => ({ agent_id: agentId, name, value: v, timestamp: at(ms) })));
}
const every10s = (n: number, f: (i: number) => number): Array<[number, number]> => Array.from({ length: n }, (_, i) => [i * 10_000, f(i)]);

beforeAll(async () => {
  t = await startTestAms();
  a = await createAgent(t.api);
  b = await createAgent(t.api);
  // Agent A: ten minutes of 10 s samples.
  await resource(a.id, 'cpu_percent', every10s(60, (i) => i));
  await resource(a.id, 'memory_mb', every10s(60, () => 100));
  await reported(a.id, 'events_processed', every10s(60, (i) => 5 * i));
  await reported(a.id, 'events_failed', every10s(60, (i) => i));
  await reported(a.id, 'processing_ms', every10s(60, (i) => 20 * i));
  await reported(a.id, 'response_ms', every10s(60, (i) => (i < 30 ? 10 : 30)));
  // Agent B: the same ten minutes, other values.
  await resource(b.id, 'cpu_percent', every10s(60, () => 30));
  await resource(b.id, 'memory_mb', every10s(60, () => 50));
  await reported(b.id, 'events_processed', every10s(60, (i) => 10 * i));
  await reported(b.id, 'events_failed', every10s(60, () => 0));
});
afterAll(() => t?.stop());

const metricsOf = (id: string, query: string) => t.api.get(`/api/v1/agents/${id}/metrics?${query}`);
const range = `from=${T0}&to=${T0 + 600_000}`;

describe('GET /api/v1/agents/{id}/metrics', () => {
  it('answers gauges as the mean of each aligned bucket', async () => {
    const res = await metricsOf(a.id, `${range}&step=60&names=cpu_percent,memory_mb`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agent_id: a.id, from: at(0), to: at(600_000), step: 60 });
    expect(res.body.t).toEqual(Array.from({ length: 10 }, (_, k) => T0 + k * 60_000));
    // Bucket k holds the samples 6k..6k+5.
    expect(res.body.cpu_percent).toEqual(Array.from({ length: 10 }, (_, k) => 6 * k + 2.5));
    expect(res.body.memory_mb).toEqual(new Array(10).fill(100));
  });

  it('answers counters as per-second rates, and error_rate and processing_ms per processed event', async () => {
    const res = await metricsOf(a.id, `${range}&step=120&names=events_processed,events_failed,error_rate,processing_ms`);
    expect(res.status).toBe(200);
    expect(res.body.t).toHaveLength(5);
    expect(res.body.events_processed).toEqual(new Array(5).fill(0.5));
    expect(res.body.events_failed).toEqual(new Array(5).fill(0.1));
    expect(res.body.error_rate).toEqual(new Array(5).fill(0.2));
    expect(res.body.processing_ms).toEqual(new Array(5).fill(4));
  });

  it('counts a counter that dropped (the process restarted) as rising from zero', async () => {
    const c = await createAgent(t.api);
    await reported(c.id, 'events_processed', [[0, 0], [10_000, 10], [20_000, 20], [30_000, 5], [40_000, 15]]);
    const res = await metricsOf(c.id, `from=${T0}&to=${T0 + 60_000}&step=60&names=events_processed`);
    // Increases 10, 10, 5, 10 over 40 s.
    expect(res.body.events_processed).toEqual([35 / 40]);
  });

  it('answers every series with data when no names are given, and null where a bucket is empty', async () => {
    const res = await metricsOf(a.id, `from=${T0}&to=${T0 + 1_200_000}&step=300`);
    expect(res.status).toBe(200);
    const series = Object.keys(res.body).filter((k) => !['agent_id', 'from', 'to', 'step', 't', 'meta'].includes(k)).sort();
    expect(series).toEqual(['cpu_percent', 'error_rate', 'events_failed', 'events_processed', 'memory_mb', 'processing_ms', 'response_ms']);
    // Every answered series has its kind and unit; counters are answered as rates of their unit.
    expect(res.body.meta).toEqual({
      cpu_percent: { kind: 'gauge', unit: '%' },
      memory_mb: { kind: 'gauge', unit: 'MiB' },
      events_processed: { kind: 'counter', unit: 'events' },
      events_failed: { kind: 'counter', unit: 'events' },
      error_rate: { kind: 'gauge', unit: 'ratio' },
      processing_ms: { kind: 'gauge', unit: 'ms' },
      response_ms: { kind: 'gauge', unit: 'ms' },
    });
    expect(res.body.t).toHaveLength(4);
    expect(res.body.response_ms).toEqual([10, 30, null, null]);
    expect(res.body.cpu_percent.slice(2)).toEqual([null, null]);
  });

  it('never lets a reported metric named like a key of the answer replace it', async () => {
    const c = await createAgent(t.api);
    await reported(c.id, 't', [[0, 1]]);
    await reported(c.id, 'step', [[0, 2]]);
    await reported(c.id, 'load', [[0, 3]]);
    await reported(c.id, 'meta', [[0, 4]]);
    const res = await metricsOf(c.id, `from=${T0}&to=${T0 + 60_000}&step=60`);
    expect(res.body).toMatchObject({ t: [T0], step: 60, load: [3], meta: { load: { kind: 'gauge', unit: null } } });
    expect(Object.keys(res.body.meta)).toEqual(['load']);
  });

  it('answers exactly the names asked for, with a null column for a name without data', async () => {
    const res = await metricsOf(a.id, `${range}&step=300&names=memory_mb&names=disk_read_bytes`);
    expect(Object.keys(res.body).sort()).toEqual(['agent_id', 'disk_read_bytes', 'from', 'memory_mb', 'meta', 'step', 't', 'to']);
    expect(res.body.disk_read_bytes).toEqual([null, null]);
    expect(res.body.meta).toEqual({ memory_mb: { kind: 'gauge', unit: 'MiB' }, disk_read_bytes: { kind: 'counter', unit: 'bytes' } });
  });

  it('chooses the step when none is given and never answers more than the bound', async () => {
    const day = await metricsOf(a.id, `from=${T0 - 86_400_000}&to=${T0 + 600_000}`);
    expect(day.status).toBe(200);
    expect(day.body.t.length).toBeLessThanOrEqual(1000);
    expect(day.body.step).toBe(120); // the first round step within 1000 points of 24 h 10 min
    const month = await metricsOf(a.id, `from=${T0 - 30 * 86_400_000}&to=${T0}&names=cpu_percent`);
    expect(month.body.t.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(month.body.cpu_percent).toHaveLength(month.body.t.length);
    const hourDefault = await metricsOf(a.id, 'names=cpu_percent');
    expect(hourDefault.status).toBe(200);
    expect(Date.parse(hourDefault.body.to) - Date.parse(hourDefault.body.from)).toBe(3_600_000);
  });

  it('refuses bad ranges, steps and names with a 400 naming each field', async () => {
    const cases: Array<[string, string[]]> = [
      [`from=${T0 + 1000}&to=${T0}`, ['from']],
      [`from=${T0 - 32 * 86_400_000}&to=${T0}`, ['from']],
      [`from=${T0 - 86_400_000}&to=${T0}&step=1`, ['step']],
      ['from=yesterday&to=now&step=fast', ['from', 'step', 'to']],
      [`${range}&names=cpu_percent,DROP TABLE`, ['names']],
    ];
    for (const [query, paths] of cases) {
      const res = await metricsOf(a.id, query);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.map((d: { path: string }) => d.path).sort(), query).toEqual(paths);
    }
    const tooMany = await metricsOf(a.id, `from=${T0 - 86_400_000}&to=${T0}&step=1`);
    expect(tooMany.body.error.details[0].reason).toContain(`at most ${MAX_POINTS}`);
  });

  it('answers 404 for an unknown agent', async () => {
    const res = await metricsOf('security-00000000-0000-4000-8000-000000000000', range);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('agent_not_found');
  });
});

describe('GET /api/v1/metrics (fleet)', () => {
  it('aggregates over agents per bucket', async () => {
    const res = await t.api.get(`/api/v1/metrics?${range}&step=120`);
    expect(res.status).toBe(200);
    expect(res.body.t).toHaveLength(5);
    // CPU: A's bucket k averages 12k+5.5 (samples 12k..12k+11), B is 30.
    expect(res.body.cpu_percent_avg).toEqual(Array.from({ length: 5 }, (_, k) => (12 * k + 5.5 + 30) / 2));
    expect(res.body.cpu_percent_max).toEqual(Array.from({ length: 5 }, (_, k) => Math.max(12 * k + 11, 30)));
    expect(res.body.memory_mb_total).toEqual(new Array(5).fill(150));
    expect(res.body.memory_mb_max).toEqual(new Array(5).fill(100));
    // A 0.5/s + B 1/s (the restart agent's series is in the first minute only).
    expect(res.body.events_processed_rate.slice(1)).toEqual(new Array(4).fill(1.5));
    expect(res.body.events_failed_rate.slice(1)).toEqual(new Array(4).fill(0.1));
    expect(res.body.error_rate[4]).toBeCloseTo(12 / (60 + 120), 10);
    expect(res.body.agents_reporting.slice(1)).toEqual(new Array(4).fill(2));
  });

  it('answers only the aggregates named, and refuses others', async () => {
    const res = await t.api.get(`/api/v1/metrics?${range}&step=600&names=agents_reporting`);
    expect(Object.keys(res.body).sort()).toEqual(['agents_reporting', 'from', 'meta', 'step', 't', 'to']);
    const empty = await t.api.get(`/api/v1/metrics?from=${T0 - 3_600_000}&to=${T0}&step=600&names=agents_reporting,cpu_percent_avg`);
    expect(empty.body.agents_reporting).toEqual(new Array(6).fill(0));
    expect(empty.body.cpu_percent_avg).toEqual(new Array(6).fill(null));
    const bad = await t.api.get(`/api/v1/metrics?${range}&names=cpu_percent`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0]).toMatchObject({ path: 'names', in: 'query' });
  });
});

describe('who may read metrics', () => {
  it('read-only reads any agent and the fleet; an agent principal only its own agent', async () => {
    const ro = await t.userWith('read-only');
    expect((await ro.api.get(`/api/v1/agents/${a.id}/metrics?${range}`)).status).toBe(200);
    expect((await ro.api.get(`/api/v1/metrics?${range}`)).status).toBe(200);
    const own = await t.userWith('agent', a.id);
    expect((await own.api.get(`/api/v1/agents/${a.id}/metrics?${range}`)).status).toBe(200);
    expect((await own.api.get(`/api/v1/agents/${b.id}/metrics?${range}`)).status).toBe(403);
    expect((await own.api.get(`/api/v1/metrics?${range}`)).status).toBe(403);
    expect((await t.anon.get(`/api/v1/agents/${a.id}/metrics?${range}`)).status).toBe(401);
  });

  it('a role without metrics:read is refused', async () => {
    expect((await t.api.post('/api/v1/roles', { name: 'lister', permissions: ['agents:read'] })).status).toBe(201);
    const lister = await t.userWith('lister');
    const res = await lister.api.get(`/api/v1/agents/${a.id}/metrics?${range}`);
    expect(res.status).toBe(403);
    expect(res.body.error.details).toMatchObject({ required: 'metrics:read' });
  });
});
