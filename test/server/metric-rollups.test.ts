// Metric rollups: over random samples (gauges and counters with restarts, in both raw tables,
// with ties), a series read through the 1-minute, 5-minute and 1-hour rollups and the raw tail
// equals the same series read from raw samples only, per agent and fleet-wide, also when samples
// arrive late (dirty minutes) and after the job redid them; the job catches up after the AMS was
// down, is idempotent, and runs under an advisory lock on PostgreSQL.
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { eventually } from '../helpers/wait.js';
import { createMetricsService } from '../../server/services/metrics.js';
import { ROLLUP_LOCK_KEY } from '../../server/monitoring/rollups.js';
import { FLEET_METRICS } from '../../server/domain/metric-series.js';

let t: TestAms;
const HOUR = 3_600_000;
const MIN = 60_000;

beforeAll(async () => {
  t = await startTestAms();
  // The tests drive the job themselves.
  await t.ams.services.rollups.stop();
});
afterAll(() => t?.stop());

const knex = () => t.ams.db.knex;

async function resetRollups(): Promise<void> {
  for (const table of ['metric_rollups_1m', 'metric_rollups_5m', 'metric_rollups_1h', 'metric_rollup_state', 'metric_rollup_dirty', 'agent_resource_metrics', 'agent_metrics']) {
    await knex()(table).del();
  }
}

type Sample = { name: string; t: number; v: number };
const RESOURCE = new Set(['cpu_percent', 'disk_read_bytes']);

async function insertSamples(agentId: string, samples: Sample[]): Promise<void> {
  const res = samples.filter((s) => RESOURCE.has(s.name)).map((s) => ({ agent_id: agentId, metric_type: s.name, metric_value: s.v, created_at: new Date(s.t).toISOString() }));
  const rep = samples.filter((s) => !RESOURCE.has(s.name)).map((s) => ({ agent_id: agentId, name: s.name, value: s.v, timestamp: new Date(s.t).toISOString() }));
  if (res.length) await knex().batchInsert('agent_resource_metrics', res, 500);
  if (rep.length) await knex().batchInsert('agent_metrics', rep, 500);
}

/** Numbers equal within floating-point rounding; nulls equal nulls. */
function expectSameSeries(actual: Record<string, unknown>, expected: Record<string, unknown>, what: string): void {
  expect(Object.keys(actual).sort(), what).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) {
    if (!Array.isArray(v) || k === 't') {
      expect(actual[k], `${what}: ${k}`).toEqual(v);
      continue;
    }
    const a = actual[k] as Array<number | null>;
    expect(a.length, `${what}: ${k} length`).toBe(v.length);
    v.forEach((x: number | null, i: number) => {
      const y = a[i];
      if (x === null || y === null) expect(y, `${what}: ${k}[${i}]`).toBe(x);
      else expect(Math.abs(y - x), `${what}: ${k}[${i}] ${y} vs ${x}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(x)));
    });
  }
}

/** Random series of one agent over [base, base + span): two gauges and two counters (with restarts), some samples sharing a time. */
const seriesArb = (base: number, span: number) =>
  fc.record({
    cpu: fc.array(fc.record({ t: fc.integer({ min: 0, max: span - 1 }), v: fc.double({ min: 0, max: 100, noNaN: true }) }), { maxLength: 120 }),
    queue: fc.array(fc.record({ t: fc.integer({ min: 0, max: span - 1 }), v: fc.integer({ min: -50, max: 50 }) }), { maxLength: 60 }),
    events: fc.array(fc.record({ t: fc.integer({ min: 0, max: span - 1 }), d: fc.integer({ min: 0, max: 30 }), restart: fc.boolean() }), { maxLength: 150 }),
    disk: fc.array(fc.record({ t: fc.integer({ min: 0, max: span / 10 }).map((k) => k * 10_000), d: fc.integer({ min: 0, max: 1e6 }) }), { maxLength: 120 }),
  }).map(({ cpu, queue, events, disk }) => {
    // Counters: cumulative in time order, occasionally dropping (the process restarted).
    const counter = (name: string, steps: Array<{ t: number; d: number; restart?: boolean }>) => {
      let total = 0;
      return [...steps].sort((a, b) => a.t - b.t).map((s, i) => {
        total = s.restart && i % 7 === 3 ? s.d : total + s.d;
        return { name, t: base + s.t, v: total };
      });
    };
    return [
      ...cpu.map((s) => ({ name: 'cpu_percent', t: base + s.t, v: s.v })),
      ...queue.map((s) => ({ name: 'queue_depth', t: base + s.t, v: s.v })),
      ...counter('events_processed', events),
      ...counter('disk_read_bytes', disk),
    ];
  });

const STEPS_S = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800];

describe('metric rollups', () => {
  it('answer what the raw samples answer, for any range and step, per agent and fleet-wide, late samples included', async () => {
    const base = Math.floor(Date.now() / HOUR) * HOUR - 8 * HOUR;
    const span = 5 * HOUR;
    const declared = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(
        seriesArb(base, span),
        fc.integer({ min: 0, max: span + 30 * MIN }),
        fc.array(fc.record({ from: fc.integer({ min: -HOUR, max: span }), len: fc.integer({ min: 1, max: span + HOUR }), step: fc.constantFrom(...STEPS_S) }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.record({ t: fc.integer({ min: 0, max: span - 1 }), v: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 8 }),
        async (samples, cut, windows, late) => {
          await resetRollups();
          let agentId = declared.get('agent');
          if (!agentId) {
            agentId = (await createAgent(t.api)).id;
            declared.set('agent', agentId);
            // queue_depth is declared a counter: rollups must rate it too.
            await knex()('agent_metric_kinds').insert({ agent_id: agentId, name: 'queue_depth', kind: 'counter', unit: 'items' });
          }
          await insertSamples(agentId, samples);
          // Rolled up to a point inside the data: the rest is the raw tail.
          const rolled = await t.ams.services.rollups.run({ untilMs: base + cut });
          expect(rolled.ran).toBe(true);
          expect(rolled.rolledUntil['1m']).toBe(Math.floor((base + cut) / MIN) * MIN);

          const compare = async (what: string) => {
            const viaRollups = createMetricsService({ db: t.ams.db });
            const viaRaw = createMetricsService({ db: t.ams.db, rollups: false });
            for (const w of windows) {
              const q = { from: String(base + w.from), to: String(base + w.from + w.len), step: String(w.step) };
              if ((w.len / 1000) / w.step > 2000) continue;
              expectSameSeries(await viaRollups.agentSeries(agentId, q), await viaRaw.agentSeries(agentId, q), `${what} agent ${JSON.stringify(q)}`);
              expectSameSeries(await viaRollups.fleetSeries(q), await viaRaw.fleetSeries(q), `${what} fleet ${JSON.stringify(q)}`);
            }
          };
          await compare('rolled');
          if (late.length > 0) {
            // Samples arriving after their minute was rolled up: read raw until the job redoes them.
            await insertSamples(agentId, late.map((s) => ({ name: 'cpu_percent', t: base + s.t, v: s.v })));
            await compare('late');
            const redo = await t.ams.services.rollups.run({ untilMs: base + cut });
            expect(await knex()('metric_rollup_dirty').count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(0);
            expect(redo.redone).toBeGreaterThanOrEqual(0);
            await compare('redone');
          }
        },
      ),
      { numRuns: 15 },
    );
  }, 300_000);

  it('read the rollups, not the raw samples, for the buckets they cover', async () => {
    await resetRollups();
    const agent = await createAgent(t.api);
    const base = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;
    await insertSamples(agent.id, Array.from({ length: 360 }, (_, i) => ({ name: 'cpu_percent', t: base + i * 60_000, v: i % 10 })));
    await t.ams.services.rollups.run({ untilMs: base + 4 * HOUR });
    expect(Number((await knex()('metric_rollups_1h').where({ agent_id: agent.id }).count({ n: '*' }).first())!.n)).toBe(4);
    // A rollup changed by hand shows in the answer: the hour buckets are read from it.
    await knex()('metric_rollups_1h').where({ agent_id: agent.id }).update({ sum: 0 });
    const res = await t.api.get(`/api/v1/agents/${agent.id}/metrics?from=${base}&to=${base + 6 * HOUR}&step=1h&names=cpu_percent`);
    expect(res.status).toBe(200);
    expect(res.body.cpu_percent).toEqual([0, 0, 0, 0, 4.5, 4.5]);
  });

  it('are idempotent: rolling the same range again writes the same buckets', async () => {
    await resetRollups();
    const agent = await createAgent(t.api);
    const base = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
    await insertSamples(agent.id, Array.from({ length: 600 }, (_, i) => ({ name: i % 2 ? 'events_processed' : 'memory_mb', t: base + i * 20_000 + (i % 3), v: i % 2 ? i * 3 : 100 + (i % 17) })));
    await t.ams.services.rollups.run({ untilMs: base + 3 * HOUR });
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      for (const level of ['1m', '5m', '1h']) out[level] = await knex()(`metric_rollups_${level}`).where({ agent_id: agent.id }).orderBy(['bucket', 'name']).select('name', 'bucket', 'count', 'sum', 'min', 'max', 'inc', 'secs');
      return out;
    };
    const first = await snapshot();
    expect(first['1m'].length).toBeGreaterThan(100);
    // As if the job had been killed after writing buckets but before moving its watermark.
    await knex()('metric_rollup_state').update({ rolled_until: new Date(base).toISOString() });
    await t.ams.services.rollups.run({ untilMs: base + 3 * HOUR });
    expect(await snapshot()).toEqual(first);
  });

  it('catch up after the AMS was down: a restart rolls every sample it had not rolled, at every level', async () => {
    await resetRollups();
    const agent = await createAgent(t.api);
    const now = Date.now();
    const from = Math.floor((now - 3 * HOUR) / HOUR) * HOUR;
    // The AMS rolled up to three hours ago, then stored samples it never rolled before it went down.
    await t.ams.services.rollups.run({ untilMs: from });
    const samples: Sample[] = [];
    for (let ts = from; ts < now - 2 * MIN; ts += 10_000) {
      samples.push({ name: 'cpu_percent', t: ts, v: (ts / 10_000) % 50 }, { name: 'events_processed', t: ts, v: Math.floor((ts - from) / 1000) });
    }
    await insertSamples(agent.id, samples);
    expect(Number((await knex()('metric_rollup_dirty').count({ n: '*' }).first())!.n)).toBe(0);
    expect(Number((await knex()('metric_rollups_1m').where({ agent_id: agent.id }).count({ n: '*' }).first())!.n)).toBe(0);

    await t.restart();
    const state = await eventually(
      async () => Object.fromEntries((await knex()('metric_rollup_state').select('level', 'rolled_until')).map((r: { level: string; rolled_until: Date }) => [r.level, new Date(r.rolled_until).getTime()])),
      (s) => s['1m'] >= now - 3 * MIN && s['5m'] >= now - 8 * MIN && s['1h'] >= Math.floor(now / HOUR) * HOUR - HOUR,
      'the rollups caught up after the restart',
      60_000,
    );
    await t.ams.services.rollups.stop();
    const minutes = Number((await knex()('metric_rollups_1m').where({ agent_id: agent.id }).count({ n: '*' }).first())!.n);
    expect(minutes).toBeGreaterThanOrEqual(2 * Math.floor((state['1m'] - from) / MIN) - 2);
    expect(Number((await knex()('metric_rollups_1h').where({ agent_id: agent.id }).count({ n: '*' }).first())!.n)).toBeGreaterThanOrEqual(4);
    // Through the API (rollups) as the raw samples say.
    const q = { from: String(from), to: String(now), step: '300' };
    const viaApi = await t.api.get(`/api/v1/agents/${agent.id}/metrics?from=${q.from}&to=${q.to}&step=${q.step}`);
    expect(viaApi.status).toBe(200);
    const raw = await createMetricsService({ db: t.ams.db, rollups: false }).agentSeries(agent.id, q);
    expectSameSeries(viaApi.body, JSON.parse(JSON.stringify(raw)), 'after catching up');
    const fleet = await t.api.get(`/api/v1/metrics?from=${q.from}&to=${q.to}&step=${q.step}&names=${FLEET_METRICS.join(',')}`);
    expectSameSeries(fleet.body, JSON.parse(JSON.stringify(await createMetricsService({ db: t.ams.db, rollups: false }).fleetSeries(q))), 'fleet after catching up');
  });

  it('take an advisory lock on PostgreSQL (a replica holding it makes this run skip); PGlite, one process, takes none', async () => {
    if (t.ams.db.kind === 'postgres') {
      const other = new pg.Client({ connectionString: t.dbUrl });
      await other.connect();
      try {
        await other.query('SELECT pg_advisory_lock($1::bigint)', [ROLLUP_LOCK_KEY]);
        expect((await t.ams.services.rollups.run()).ran).toBe(false);
        await other.query('SELECT pg_advisory_unlock($1::bigint)', [ROLLUP_LOCK_KEY]);
      } finally {
        await other.end();
      }
    }
    expect((await t.ams.services.rollups.run()).ran).toBe(true);
  });
});
