// Benchmark helpers: timing loops, percentiles and the printed table (figures and ratios to
// a baseline measured in the same run). Benchmarks print; they never assert timings.
import http from 'node:http';
import type { Knex } from 'knex';
import { newAgentId } from '../../server/domain/identifiers.js';

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function stats(samplesMs: number[]): Stats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

/** Runs `fn` once and appends its duration in ms to `into`. */
async function timed(fn: () => Promise<unknown>, into: number[]): Promise<void> {
  const t0 = performance.now();
  await fn();
  into.push(performance.now() - t0);
}

/** Runs `fn` sequentially: `warmup` untimed calls, then `n` timed ones. */
export async function measure(fn: () => Promise<unknown>, n: number, warmup = Math.ceil(n / 10)): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) await timed(fn, samples);
  return stats(samples);
}

/**
 * Times `fn` and its baseline `base` in alternating calls (which of the two goes first flips
 * every round), so that both see the same machine: a busy spell on these shared cores, a
 * garbage collection or a background timer lands on either with the same odds, and the
 * ratio compares like with like. Sequential blocks let one of them catch a quiet minute and
 * the other a noisy one.
 */
export async function measurePair(fn: () => Promise<unknown>, base: () => Promise<unknown>, n: number, warmup = Math.ceil(n / 10)): Promise<{ s: Stats; base: Stats; baseSamples: number[] }> {
  for (let i = 0; i < warmup; i++) {
    await base();
    await fn();
  }
  const samples: number[] = [];
  const baseSamples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2) {
      await timed(fn, samples);
      await timed(base, baseSamples);
    } else {
      await timed(base, baseSamples);
      await timed(fn, samples);
    }
  }
  return { s: stats(samples), base: stats(baseSamples), baseSamples };
}

/**
 * Times several functions in the same rounds, each round in a rotated order (so that a busy
 * spell on the shared cores lands on any of them with the same odds); answers their stats by name.
 */
export async function measureRounds(fns: Record<string, () => Promise<unknown>>, n: number, warmup = Math.ceil(n / 10)): Promise<Record<string, Stats>> {
  const names = Object.keys(fns);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let round = 0; round < warmup + n; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      if (round < warmup) await fns[name]();
      else await timed(fns[name], samples[name]);
    }
  }
  return Object.fromEntries(names.map((k) => [k, stats(samples[k])]));
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A minimal keep-alive HTTP request that reads the whole body (and fails on an unexpected status). */
export function request(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}, expect = 200): Promise<string> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => (res.statusCode === expect ? resolve(text) : reject(new Error(`${method} ${url}: ${res.statusCode} ${text.slice(0, 300)}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface Row {
  name: string;
  s: Stats;
  base?: Stats;
  note?: string;
}

const ms = (v: number) => `${v.toFixed(3)} ms`;

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`);
  console.log('| case | n | p50 | p99 | p50 ratio | p99 ratio | note |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const ratio = (a: number, b?: number) => (b ? `${(a / b).toFixed(2)}x` : '');
    console.log(`| ${r.name} | ${r.s.n} | ${ms(r.s.p50)} | ${ms(r.s.p99)} | ${ratio(r.s.p50, r.base?.p50)} | ${ratio(r.s.p99, r.base?.p99)} | ${r.note ?? ''} |`);
  }
}

export const quick = process.env.BENCH_QUICK === '1';

/**
 * Inserts `count` agents straight into the tables (security and wifi alternating, 20 sites,
 * edge/core groups, created 1 ms apart) with the status `statusOf(i)` gives; answers their ids.
 */
export async function seedFleet(
  knex: Knex,
  count: number,
  statusOf: (i: number) => { process_status: string; health_status: string },
): Promise<string[]> {
  const t0 = Date.now() - count;
  const rows = Array.from({ length: count }, (_, i) => ({
    id: newAgentId(i % 2 ? 'security' : 'wifi'),
    name: `BenchAgent${String(i).padStart(5, '0')}`,
    type: i % 2 ? 'security' : 'wifi',
    version: '1.0.0',
    description: 'bench',
    subscribed_topics: JSON.stringify(['logs.security']),
    findings_topic: 'findings.security',
    labels: JSON.stringify({ site: `site-${i % 20}`, group: i % 3 ? 'edge' : 'core' }),
    created_at: new Date(t0 + i),
    updated_at: new Date(t0 + i),
  }));
  await knex.batchInsert('agents', rows, 1000);
  await knex.batchInsert('agent_status', rows.map((a, i) => ({ agent_id: a.id, ...statusOf(i), recovery_status: 'none' })), 1000);
  // The planner's statistics, as autovacuum would have them on a database in use; without
  // them the first minutes of queries run on guesses, and the analyze lands mid-measurement.
  await knex.raw('ANALYZE agents, agent_status');
  return rows.map((r) => r.id);
}
