// `npm run bench`: every benchmark, printed as tables of figures beside their baselines.
// PostgreSQL: OPMAS_TEST_PG_URL, or a throwaway cluster. BENCH_QUICK=1 for fewer samples.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { benchApi } from './api.bench.js';
import { benchIngest } from './ingest.bench.js';
import { benchChart, benchColdStart, benchDashboard, buildConsole } from './console.bench.js';
import { benchMetrics } from './metrics.bench.js';
import { printTable } from './lib.js';
import { benchClusterCrash, benchFanout, benchIngestSaturation, benchOutageDrain } from './cluster.bench.js';
import { benchCrash, benchDetection, benchFootprint, printFootprint } from './supervisor.bench.js';
import { startThrowawayPostgres } from '../support/postgres.mjs';

/** A PostgreSQL superuser URL: OPMAS_TEST_PG_URL, or a throwaway cluster for `fn`. */
async function withPgAdmin<T>(fn: (admin: string) => Promise<T>): Promise<T> {
  if (process.env.OPMAS_TEST_PG_URL) return fn(process.env.OPMAS_TEST_PG_URL);
  const cluster = await startThrowawayPostgres();
  try {
    return await fn(cluster.url);
  } finally {
    await cluster.stop();
  }
}

async function withPgDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  return withPgAdmin((admin) => inDatabase(admin, fn));
}

async function inDatabase<T>(admin: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `opmas_bench_${randomBytes(4).toString('hex')}`;
  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(sql);
    await c.end();
  };
  await query(`CREATE DATABASE ${name}`);
  const url = new URL(admin!);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

const only = process.argv[2];
// The machines are shared: the load when the run starts says how quiet the cores were.
const { cpus, loadavg } = await import('node:os');
console.log(`# OPMAS benchmarks (${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
if (!only || only === 'api') {
  const lite = await benchApi('pglite', undefined);
  const pgRows = await withPgDatabase((url) => benchApi('postgres', url));
  printTable('API latency, PGlite (10,000 agents) beside a bare Koa route', lite.foundation);
  printTable('API latency, PostgreSQL (10,000 agents) beside a bare Koa route', pgRows.foundation);
  printTable('Security overhead, PGlite: the product app beside the same routes without security', lite.security);
  printTable('Security overhead, PostgreSQL: the product app beside the same routes without security', pgRows.security);
  printTable('GET /agents?limit=100 at 10,000 agents beside its SQL through the bare driver, PGlite (same rounds; ratio = ÷ driver)', lite.listFloor);
  printTable('GET /agents?limit=100 at 10,000 agents beside its SQL through the bare driver, PostgreSQL (same rounds; ratio = ÷ driver)', pgRows.listFloor);
}

if (!only || only === 'ingest') {
  // The ingest benchmark runs the built AMS entry as its own process.
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['node_modules/electron-vite/bin/electron-vite.js', 'build'], { stdio: 'ignore' });
  printTable('Heartbeat ingest through NATS, PGlite (latency = publish to visible through the API)', await benchIngest('pglite', undefined));
  printTable('Heartbeat ingest through NATS, PostgreSQL (latency = publish to visible through the API)', await withPgDatabase((url) => benchIngest('postgres', url)));
}

if (!only || only === 'metrics') {
  const lite = await benchMetrics('pglite');
  const pgRows = await withPgDatabase((url) => benchMetrics('postgres', url));
  const title = 'one agent, 10 s samples rolled up (1 min, 5 min, 1 h), any range; beside an indexed count of the same raw rows, and the raw path before rollups in the note';
  printTable(`Metrics query, PGlite: ${title}`, lite);
  printTable(`Metrics query, PostgreSQL: ${title}`, pgRows);
}

// `crash`: the supervisor section without the footprint run (which takes minutes).
if (!only || only === 'supervisor' || only === 'crash') {
  const crash = await withPgDatabase((url) => benchCrash(url));
  printTable('Crash to running again: kill -9 until the supervisor reports the new process running (ratios to a bare spawn loop)', crash.running);
  printTable('Crash to running again: kill -9 until the new process executes its first line (ratios to a bare spawn loop)', crash.executing);
  const detection = await benchDetection();
  printTable('Detection: heartbeats stop -> critical, overshoot past 3 × interval', detection.rows);
}
if (!only || only === 'supervisor') {
  // The footprint runs the built AMS entry (out/main/server.js), as host mode does.
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['node_modules/electron-vite/bin/electron-vite.js', 'build'], { stdio: 'ignore' });
  printFootprint(await withPgDatabase((url) => benchFootprint(url)));
  printFootprint(await benchFootprint());
}

if (!only || only === 'console') {
  // Chromium against the built console: the AMS serves out/renderer; host mode forks out/main/server.js.
  buildConsole();
  const dashboard = await benchDashboard();
  printTable('Console dashboard, 100,000 agents on a real AMS (PGlite): data arrival → painted', dashboard.paint);
  printTable('Console dashboard while 10,000 status events/s arrive through the AMS WebSocket', dashboard.stream);
  const charts = await benchChart();
  printTable('Metrics chart, 7 days of 10 s samples × 4 series: console component beside bare uPlot (same page)', charts.agent);
  printTable('Fleet overview chart, 7 days: console component beside bare uPlot (same page)', charts.fleet);
  printTable('Host mode cold start: host launcher (Node stand-in for the main process) → dashboard first data', await benchColdStart());
}

if (!only || only === 'cluster') {
  // The built server as the deploy units run it: --role api replicas and a --role supervisor host.
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, ['node_modules/electron-vite/bin/electron-vite.js', 'build'], { stdio: 'ignore' });
  await withPgAdmin(async (admin) => {
    const crash = await benchClusterCrash(admin);
    printTable('Crash to running again across processes: kill -9 until the new process executes and until GET status shows it (ratios to a bare spawn loop)', crash.running);
    printTable('Observation to visible: kill -9 until GET status shows the exit (ratios to a bare parent\'s exit event)', crash.exitVisible);
    printTable('Drain after a database outage: the database refuses connections for 20 s while 1,000 agents heartbeat and a supervised agent crashes; time from its return until everything is visible', await benchOutageDrain(admin));
    printTable('Heartbeat ingest saturation: one API replica, then three, offered rates doubling (latency = publish to visible through the API)', await benchIngestSaturation(admin));
    printTable('Live fan-out: 1,000 state events/s committed through replica A, received on WebSockets of replicas B and C (commit to delivered)', await benchFanout(admin));
  });
}

// Every benchmark closed what it started; a library's stray handle (PM2's client, a pool's
// idle timer) must not keep the run from ending.
process.exit(0);
