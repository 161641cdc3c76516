// Metrics query benchmark (issue 5, benchmark 4): one agent with a week of 10 s samples
// (60,480 rows per series; 4 resource series and 3 agent counters, 423,360 rows), bucketed
// to 1,000 points by the metrics service, beside a plain indexed count over the same rows
// measured in the same run on the same database.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrate.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { createMetricsService } from '../../server/services/metrics.js';
import { measure, quick, type Row } from './lib.js';

const WEEK_S = 7 * 86_400;
const EVERY_S = 10;
const SAMPLES = WEEK_S / EVERY_S;
const STEP_MS = (WEEK_S * 1000) / 1000;
const N = quick ? 10 : 50;

const RESOURCE = { cpu_percent: '50 + 40 * sin(g / 500.0)', memory_mb: '200 + (g % 360)', disk_read_bytes: 'g * 4096.0', disk_write_bytes: 'g * 8192.0' };
const REPORTED = { events_processed: 'g * 5.0', events_failed: 'floor(g / 10.0)', processing_ms: 'g * 12.5' };

export async function benchMetrics(kind: 'pglite' | 'postgres', dbUrl?: string): Promise<Row[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-bench-metrics-'));
  const db = await openDatabase({ dataDir, dbUrl });
  try {
    await migrateLatest(db.knex);
    const agentId = newAgentId('security');
    await db.knex('agents').insert({ id: agentId, name: 'BenchAgent', type: 'security', version: '1.0.0', subscribed_topics: '[]', labels: '{}' });
    // A week ending at a multiple of the step, so the range is exactly 1,000 buckets.
    const toMs = Math.floor(Date.now() / STEP_MS) * STEP_MS;
    const fromMs = toMs - WEEK_S * 1000;
    const fromS = fromMs / 1000;
    const seeded = performance.now();
    for (const [name, expr] of Object.entries(RESOURCE)) {
      await db.knex.raw(
        `INSERT INTO agent_resource_metrics (agent_id, metric_type, metric_value, created_at)
         SELECT ?, ?, ${expr}, to_timestamp(?::float8 + g * ${EVERY_S}) FROM generate_series(0, ${SAMPLES - 1}) g`,
        [agentId, name, fromS],
      );
    }
    for (const [name, expr] of Object.entries(REPORTED)) {
      await db.knex.raw(
        `INSERT INTO agent_metrics (agent_id, name, value, timestamp)
         SELECT ?, ?, ${expr}, to_timestamp(?::float8 + g * ${EVERY_S}) FROM generate_series(0, ${SAMPLES - 1}) g`,
        [agentId, name, fromS],
      );
    }
    // As autovacuum would have by then: statistics, and a visibility map for index-only counts.
    await db.knex.raw('VACUUM ANALYZE agent_resource_metrics');
    await db.knex.raw('VACUUM ANALYZE agent_metrics');
    const seedS = (performance.now() - seeded) / 1000;

    const metrics = createMetricsService({ db });
    const range = { from: String(fromMs), to: String(toMs), step: `${STEP_MS}ms` };
    const from = new Date(fromMs).toISOString();
    const to = new Date(toMs).toISOString();
    const check = await metrics.agentSeries(agentId, range);
    if (check.t.length !== 1000) throw new Error(`expected 1000 buckets, got ${check.t.length}`);

    const countResource = (names: string[]) =>
      db.knex('agent_resource_metrics').where('agent_id', agentId).whereIn('metric_type', names).where('created_at', '>=', from).where('created_at', '<', to).count({ n: '*' });
    const countReported = (names: string[]) =>
      db.knex('agent_metrics').where('agent_id', agentId).whereIn('name', names).where('timestamp', '>=', from).where('timestamp', '<', to).count({ n: '*' });
    const resourceNames = Object.keys(RESOURCE);
    const reportedNames = Object.keys(REPORTED);

    const cases: Array<{ name: string; query: () => Promise<unknown>; count: () => Promise<unknown>; rows: number }> = [
      {
        name: 'cpu_percent (one gauge: mean per bucket)',
        query: () => metrics.agentSeries(agentId, { ...range, names: ['cpu_percent'] }),
        count: () => countResource(['cpu_percent']),
        rows: SAMPLES,
      },
      {
        name: 'events_processed + error_rate (counters: rate and ratio per bucket)',
        query: () => metrics.agentSeries(agentId, { ...range, names: ['events_processed', 'error_rate'] }),
        count: () => countReported(['events_processed', 'events_failed']),
        rows: 2 * SAMPLES,
      },
      {
        name: 'every series (no names: 4 gauges/counters sampled, 3 reported, 2 derived)',
        query: () => metrics.agentSeries(agentId, range),
        count: () => Promise.all([countResource(resourceNames), countReported(reportedNames)]),
        rows: 7 * SAMPLES,
      },
      {
        name: 'fleet series (all aggregates; one agent)',
        query: () => metrics.fleetSeries(range),
        count: () => Promise.all([countResource(['cpu_percent', 'memory_mb']), countReported(['events_processed', 'events_failed'])]),
        rows: 4 * SAMPLES,
      },
    ];
    const out: Row[] = [];
    for (const c of cases) {
      // Interleaved in the same run: the count first, then the bucketed query.
      const base = await measure(c.count, N, 3);
      const s = await measure(c.query, N, 3);
      out.push({ name: c.name, s, base, note: `${c.rows.toLocaleString('en')} rows -> 1,000 points; base = indexed count of the same rows (p50 ${base.p50.toFixed(2)} ms)` });
    }
    out.push({ name: `seed (${kind})`, s: { n: 1, p50: seedS * 1000, p99: seedS * 1000, mean: seedS * 1000 }, note: `${(7 * SAMPLES).toLocaleString('en')} rows inserted with generate_series` });
    return out;
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
