// Metrics query benchmark (issue 5 benchmark 4, issue 16): one agent with 31 days of 10 s samples
// (4 resource series and 3 agent counters, 267,840 samples per series), rolled up by the rollup
// job (1-minute, 5-minute, 1-hour buckets) a week at a time with the raw samples older than 7 days
// pruned, as a running AMS keeps them; then read by the metrics service: every series of the
// agent over ranges from an hour to 31 days (the automatic step), a week at 1,008 points, and the
// fleet series over a week. Beside each: the same query reading every raw sample (the path before
// rollups) and a plain indexed count of the same raw rows, measured in the same run on the same
// database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { openDatabase } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrate.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { createMetricsService } from '../../server/services/metrics.js';
import { createRollups } from '../../server/monitoring/rollups.js';
import { measure, quick, type Row, stats } from './lib.js';

const DAY_S = 86_400;
const EVERY_S = 10;
const DAYS = quick ? 8 : 31;
/** Raw samples kept (the default --metrics-retention-days). */
const RAW_DAYS = 7;
const N = quick ? 20 : 100;
const N_RAW = quick ? 2 : 3;
/** Reading every raw sample of a month takes minutes on PGlite: the path before rollups is timed up to a week. */
const RAW_MAX_DAYS = 7;

const RESOURCE = { cpu_percent: '50 + 40 * sin(g / 500.0)', memory_mb: '200 + (g % 360)', disk_read_bytes: 'g * 4096.0', disk_write_bytes: 'g * 8192.0' };
const REPORTED = { events_processed: 'g * 5.0', events_failed: 'floor(g / 10.0)', processing_ms: 'g * 12.5' };

export async function benchMetrics(kind: 'pglite' | 'postgres', dbUrl?: string): Promise<Row[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-bench-metrics-'));
  // The embedded database's warnings (its thread ending) are printed: a bench that stops says why.
  const db = await openDatabase({ dataDir, dbUrl, logger: { warn: (o, m) => process.stderr.write(`metrics bench (${kind}): ${m} ${JSON.stringify(o)}\n`), debug: () => undefined } });
  try {
    await migrateLatest(db.knex);
    const agentId = newAgentId('security');
    await db.knex('agents').insert({ id: agentId, name: 'BenchAgent', type: 'security', version: '1.0.0', subscribed_topics: '[]', labels: '{}' });
    // Samples up to a minute ago, ending on a whole hour so the week at 10 min is exactly 1,008 buckets.
    const toMs = Math.floor((Date.now() - 120_000) / 3_600_000) * 3_600_000;
    const fromS = toMs / 1000 - DAYS * DAY_S;
    const samples = (DAYS * DAY_S) / EVERY_S;
    // As an AMS that ran for DAYS days has it: a week at a time, samples stored, rolled up, and
    // those older than the raw retention (7 days) pruned; the month beyond it is in the rollups.
    const rollups = createRollups({ db, logger: pino({ level: 'silent' }), rawRetentionDays: RAW_DAYS });
    let seedMs = 0;
    let rollMs = 0;
    const written = { '1m': 0, '5m': 0, '1h': 0 };
    for (let day = 0; day < DAYS; day += RAW_DAYS) {
      const days = Math.min(RAW_DAYS, DAYS - day);
      const startS = fromS + day * DAY_S;
      const first = (day * DAY_S) / EVERY_S;
      const seeded = performance.now();
      for (const [table, columns, series] of [
        ['agent_resource_metrics', 'agent_id, metric_type, metric_value, created_at', RESOURCE],
        ['agent_metrics', 'agent_id, name, value, timestamp', REPORTED],
      ] as const) {
        for (const [name, expr] of Object.entries(series)) {
          await db.knex.raw(
            `INSERT INTO ${table} (${columns}) SELECT ?, ?, ${expr}, to_timestamp(?::float8 + g * ${EVERY_S}) FROM generate_series(${first}, ${first + (days * DAY_S) / EVERY_S - 1}) g`,
            [agentId, name, fromS],
          );
        }
      }
      seedMs += performance.now() - seeded;
      const rolling = performance.now();
      const endMs = (startS + days * DAY_S) * 1000;
      const r = await rollups.run({ untilMs: endMs === toMs ? toMs + 60_000 : endMs });
      for (const level of ['1m', '5m', '1h'] as const) written[level] += r.written[level];
      rollMs += performance.now() - rolling;
      const keepFrom = new Date(endMs - RAW_DAYS * DAY_S * 1000).toISOString();
      await db.knex('agent_resource_metrics').where('created_at', '<', keepFrom).del();
      await db.knex('agent_metrics').where('timestamp', '<', keepFrom).del();
    }
    // As autovacuum would have by then: statistics, and a visibility map for index-only counts.
    await db.knex.raw('VACUUM ANALYZE agent_resource_metrics');
    await db.knex.raw('VACUUM ANALYZE agent_metrics');
    process.stderr.write(`metrics bench (${kind}): seeded in ${(seedMs / 1000).toFixed(1)} s, rolled up in ${(rollMs / 1000).toFixed(1)} s\n`);
    for (const level of ['1m', '5m', '1h']) await db.knex.raw(`VACUUM ANALYZE metric_rollups_${level}`);

    const metrics = createMetricsService({ db });
    const raw = createMetricsService({ db, rollups: false });
    const rawKept = Math.min(DAYS, RAW_DAYS) * (DAY_S / EVERY_S) * 7;
    const out: Row[] = [];
    const count = (fromMs: number) =>
      Promise.all([
        db.knex('agent_resource_metrics').where('agent_id', agentId).where('created_at', '>=', new Date(fromMs).toISOString()).where('created_at', '<', new Date(toMs).toISOString()).count({ n: '*' }),
        db.knex('agent_metrics').where('agent_id', agentId).where('timestamp', '>=', new Date(fromMs).toISOString()).where('timestamp', '<', new Date(toMs).toISOString()).count({ n: '*' }),
      ]);
    const cases: Array<{ name: string; range: { from: string; to: string; step?: string }; fleet?: boolean; days: number }> = [
      { name: 'every series, a week at 10 min → 1,008 points', range: { from: String(toMs - 7 * DAY_S * 1000), to: String(toMs), step: '10m' }, days: 7 },
      { name: 'fleet series, a week at 10 min (one agent)', range: { from: String(toMs - 7 * DAY_S * 1000), to: String(toMs), step: '10m' }, fleet: true, days: 7 },
      ...[
        ['1 h', 1 / 24],
        ['6 h', 0.25],
        ['24 h', 1],
        ['7 d', 7],
        ...(DAYS >= 31 ? [['31 d', 31] as [string, number]] : []),
      ].map(([label, days]) => ({ name: `every series, the last ${label} (automatic step)`, range: { from: String(toMs - Math.round((days as number) * DAY_S * 1000)), to: String(toMs) }, days: days as number })),
    ];
    for (const c of cases) {
      const query = c.fleet ? () => metrics.fleetSeries(c.range) : () => metrics.agentSeries(agentId, c.range);
      const rawQuery = c.fleet ? () => raw.fleetSeries(c.range) : () => raw.agentSeries(agentId, c.range);
      const answer = (await query()) as { t: number[]; step: number };
      const base = await measure(() => count(Number(c.range.from)), N, 3);
      const s = await measure(query, N, 3);
      const before = c.days <= RAW_MAX_DAYS ? await measure(rawQuery, N_RAW, 1) : undefined;
      const rawRows = Math.round((Math.min(c.days, RAW_DAYS) * DAY_S) / EVERY_S) * (c.fleet ? 4 : 7);
      out.push({
        name: `${kind}: ${c.name}`,
        s,
        base,
        note:
          `${answer.t.length} points, step ${answer.step} s; base = indexed count of the ${rawRows.toLocaleString('en')} raw rows${c.days > RAW_DAYS ? ' kept (the last 7 days)' : ''} (p50 ${base.p50.toFixed(2)} ms)` +
          (before ? `; every raw sample read (before rollups): p50 ${before.p50.toFixed(1)} ms p99 ${before.p99.toFixed(1)} ms (${(before.p50 / s.p50).toFixed(0)}× slower)` : ''),
      });
    }
    out.push({ name: `${kind}: seed`, s: stats([seedMs]), note: `${(samples * 7).toLocaleString('en')} raw rows over ${DAYS} days, inserted with generate_series a week at a time; ${rawKept.toLocaleString('en')} kept (7 days)` });
    out.push({
      name: `${kind}: rollup job over ${DAYS} days (a week at a time)`,
      s: stats([rollMs]),
      note: `1-minute, 5-minute and 1-hour buckets written: ${written['1m'].toLocaleString('en')}, ${written['5m'].toLocaleString('en')}, ${written['1h'].toLocaleString('en')}`,
    });
    return out;
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
