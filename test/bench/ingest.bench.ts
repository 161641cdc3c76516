// Heartbeat ingest through real NATS into one AMS (issue 4 benchmark). The AMS runs as its
// own process (the built server entry) with its own nats-server; this process simulates the
// agents: one multiplexed connection publishing heartbeats for N agents (its user may publish
// every agent's heartbeat subject) plus a sample of agents on their own per-agent credentials.
// For each scenario it reports the sustained rate the AMS processed, the latency from
// publishing a heartbeat to seeing it through the API (p50/p99), and the AMS's CPU and RSS;
// beside it, the raw rate of the same messages through nats-server into a subscriber that
// does nothing, measured in the same run. The agents have never been heard when the load
// starts: the first pass over them (each agent's first heartbeat: health becomes known, its
// configuration is read) is reported as its own row, and the steady state after it as the
// scenario's figure.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { openDatabase } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrate.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { createCredentialIssuer } from '../../server/broker/credentials.js';
import { loadOrCreateHostKeys, natsDir } from '../../server/broker/key-store.js';
import { subjects } from '../../server/broker/subjects.js';
import { quick, request, stats, type Row } from './lib.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'bench-password-not-secret';

interface Scenario {
  label: string;
  agents: number;
  /** Heartbeats per second offered (N agents at a compressed interval). */
  rate: number;
}

export const SCENARIOS: Scenario[] = quick
  ? [
      { label: '1k agents, 30 s interval compressed ×30', agents: 1000, rate: 1000 },
      { label: '100k-agent rate (3,400/s) over 10k agents', agents: 10_000, rate: 3400 },
    ]
  : [
      { label: '1k agents, 30 s interval compressed ×30', agents: 1000, rate: 1000 },
      { label: '10k agents, 30 s interval compressed ×10', agents: 10_000, rate: 3334 },
      { label: '100k-agent rate (3,400/s) over 10k agents', agents: 10_000, rate: 3400 },
      { label: 'stress: 10k agents at 8,000/s', agents: 10_000, rate: 8000 },
    ];

const DURATION_S = quick ? 5 : 15;

/** CPU seconds (user+system) and RSS of a process, from /proc. */
export function procUsage(pid: number): { cpuS: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuS: ticks / 100, rssMb: Number(rss) / 1024 };
}

/** GET /health until it answers 200 (at most `timeoutMs`); the last answer otherwise. */
async function healthWhenAnswering(url: string, timeoutMs: number): Promise<{ components: Record<string, Record<string, unknown>> }> {
  const t0 = performance.now();
  for (;;) {
    try {
      return JSON.parse(await request(`${url}/api/v1/health`));
    } catch (err) {
      if (performance.now() - t0 > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export async function seedDatabase(dataDir: string, dbUrl: string | undefined, count: number): Promise<string[]> {
  const db = await openDatabase({ dataDir, dbUrl });
  await migrateLatest(db.knex);
  // Each scenario starts from no agents (a PostgreSQL database is shared by the scenarios).
  await db.knex.raw('TRUNCATE agents CASCADE');
  const ids = Array.from({ length: count }, () => newAgentId('bench'));
  await db.knex.batchInsert(
    'agents',
    ids.map((id, i) => ({ id, name: `Ingest${i}`, type: 'bench', version: '1.0.0', subscribed_topics: '[]', labels: '{}' })),
    1000,
  );
  // Registered, not supervised: these agents run outside the AMS (as with a discovery token) and
  // only heartbeat; a supervised status with no process would be recovered at the AMS start.
  await db.knex.batchInsert('agent_status', ids.map((id) => ({ agent_id: id, process_status: 'registered', health_status: 'unknown', recovery_status: 'none' })), 1000);
  await db.close();
  return ids;
}

async function startAmsProcess(dataDir: string, dbUrl: string | undefined): Promise<{ child: ChildProcess; url: string }> {
  // BENCH_AMS_NODE_ARGS: extra Node flags for the AMS process (e.g. --cpu-prof to profile it).
  const nodeArgs = process.env.BENCH_AMS_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const args = [...nodeArgs, path.join(REPO, 'out/main/server.js'), '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--rate-limit', '10000000', ...(dbUrl ? ['--db-url', dbUrl] : [])];
  // Its warnings and errors go to a file in the data dir, shown when a scenario fails.
  const log = fs.openSync(path.join(dataDir, 'ams.log'), 'a');
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: dataDir, OPMAS_ADMIN_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  const url = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).url));
    child.once('exit', (c) => reject(new Error(`AMS exited ${c}`)));
  });
  return { child, url };
}

const encoder = new TextEncoder();
export const heartbeat = (id: string, uptime: number) => encoder.encode(JSON.stringify({ agent_id: id, status: 'ready', timestamp: new Date().toISOString(), uptime }));

/** Publishes at `rate`/s for `seconds` from the multiplexed connection, spreading over agents. */
export async function offerLoad(nc: NatsConnection, ids: string[], rate: number, seconds: number): Promise<number> {
  const tickMs = 10;
  const perTick = rate / (1000 / tickMs);
  let sent = 0;
  let carry = 0;
  let i = 0;
  const end = Date.now() + seconds * 1000;
  const startedAt = Date.now();
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - startedAt) / 1000) * rate) - sent;
    carry += Math.max(0, due);
    while (carry >= 1) {
      const id = ids[i++ % ids.length];
      nc.publish(subjects.agent(id).heartbeat, heartbeat(id, i));
      sent++;
      carry--;
    }
    await new Promise((r) => setTimeout(r, tickMs));
    void perTick;
  }
  await nc.flush();
  return sent;
}

export async function benchIngest(dbLabel: string, dbUrl: string | undefined, scenarios = SCENARIOS): Promise<Row[]> {
  const rows: Row[] = [];
  for (const sc of scenarios) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-ingest-'));
    const ids = await seedDatabase(dataDir, dbUrl, sc.agents);
    const { child, url } = await startAmsProcess(dataDir, dbUrl);
    const open: NatsConnection[] = [];
    try {
      const login = JSON.parse(await request(`${url}/api/v1/auth/login`, 'POST', { username: 'admin', password: PASSWORD }));
      const auth = { authorization: `Bearer ${login.access_token}` };
      const health = JSON.parse(await request(`${url}/api/v1/health`));
      const natsUrl = health.components.broker.url as string;
      const natsPid = health.components.broker.server.pid as number;

      // Credentials: the simulator may publish every agent's heartbeat; a sample uses real per-agent users.
      const keys = loadOrCreateHostKeys(natsDir(dataDir));
      const issuer = createCredentialIssuer({
        accountPublicKey: keys.account.getPublicKey(),
        signingKey: keys.account,
        revocations: { list: () => ({}), add: () => undefined },
        applyRevocations: async () => ({ applied: true, detail: '' }),
      });
      const sim = await issuer.issueUser('bench-simulator', { pub: { allow: [subjects.everyAgent.heartbeat] }, sub: { allow: ['_INBOX.>'] } });
      const simConn = await connect({ servers: natsUrl, authenticator: credsAuthenticator(encoder.encode(sim.creds)) });
      open.push(simConn);
      const sample = ids.slice(0, 20);
      const perAgent: NatsConnection[] = [];
      for (const id of sample) {
        const c = await issuer.issueAgent({ agentId: id });
        const nc = await connect({ servers: natsUrl, authenticator: credsAuthenticator(encoder.encode(c.creds)), inboxPrefix: subjects.agent(id).inboxPrefix });
        open.push(nc);
        perAgent.push(nc);
      }

      // Baseline: the same messages through nats-server into a subscriber that does nothing.
      const sink = await connect({ servers: natsUrl, authenticator: credsAuthenticator(encoder.encode((await issuer.issueUser('bench-sink', { pub: { allow: [] }, sub: { allow: ['bench.baseline.>'] } })).creds)) });
      open.push(sink);
      const raw = await issuer.issueUser('bench-raw', { pub: { allow: ['bench.baseline.>'] }, sub: { allow: [] } });
      const rawConn = await connect({ servers: natsUrl, authenticator: credsAuthenticator(encoder.encode(raw.creds)) });
      open.push(rawConn);
      let received = 0;
      const subscription = sink.subscribe('bench.baseline.>', {
        callback: () => {
          received++;
        },
      });
      await sink.flush();
      const baselineN = quick ? 100_000 : 300_000;
      const t0 = performance.now();
      for (let i = 0; i < baselineN; i++) rawConn.publish(`bench.baseline.${i % 1000}`, heartbeat(ids[i % ids.length], i));
      await rawConn.flush();
      while (received < baselineN && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
      const baselineRate = received / ((performance.now() - t0) / 1000);
      subscription.unsubscribe();

      // Load with latency probes: a per-agent connection publishes a marked heartbeat and we poll the API until it shows.
      const probeLatencies: { first: number[]; steady: number[] } = { first: [], steady: [] };
      let phase: keyof typeof probeLatencies = 'first';
      let probing = true;
      const probes = (async () => {
        let k = 0;
        while (probing) {
          const idx = k++ % sample.length;
          const id = sample[idx];
          const marker = 1_000_000 + k;
          const during = phase;
          const t = performance.now();
          perAgent[idx].publish(subjects.agent(id).heartbeat, heartbeat(id, marker));
          for (;;) {
            // A request the AMS could not answer in time is asked again (counted as latency).
            const agent = await request(`${url}/api/v1/agents/${id}`, 'GET', undefined, auth).then(JSON.parse, () => undefined);
            if (agent?.uptime_s === marker) break;
            if (performance.now() - t > 10_000) break;
            await new Promise((r) => setTimeout(r, 5));
          }
          probeLatencies[during].push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      // The probe agents are left out of the load so that nothing overwrites a probe's marker.
      const loadIds = ids.slice(sample.length);
      // First pass: every agent's first heartbeat, then a second to let the AMS take them in.
      const firstStart = performance.now();
      const firstSent = await offerLoad(simConn, loadIds, sc.rate, Math.ceil(loadIds.length / sc.rate) + 1);
      const firstElapsed = (performance.now() - firstStart) / 1000;
      phase = 'steady';
      // Past its capacity the AMS answers 503 (its database probe queued behind the backlog).
      const hb0 = (await healthWhenAnswering(url, 120_000)).components.ingest.heartbeats as number;
      const before = procUsage(child.pid!);
      const natsBefore = procUsage(natsPid);
      const loadStart = performance.now();
      const sent = await offerLoad(simConn, loadIds, sc.rate, DURATION_S);
      const elapsed = (performance.now() - loadStart) / 1000;
      probing = false;
      await probes;
      const after = procUsage(child.pid!);
      const natsAfter = procUsage(natsPid);
      // Processed = accepted by the AMS consumer (it batches writes), read from its /health counters.
      // Let the last batch flush, then count what the AMS took in. Past its capacity the AMS
      // answers 503 (its database probe queued behind the backlog) until the backlog drains.
      await new Promise((r) => setTimeout(r, 300));
      const drainStart = performance.now();
      const h2 = await healthWhenAnswering(url, 120_000);
      const drainS = (performance.now() - drainStart) / 1000;
      const processed = (h2.components.ingest.heartbeats as number) - hb0;
      const dropped = Object.values((h2.components.broker.dropped_messages ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
      const first = stats(probeLatencies.first);
      rows.push({
        name: `${dbLabel}: ${sc.label}, first pass (${loadIds.length.toLocaleString('en')} agents heard for the first time)`,
        s: first,
        note: `offered ${(firstSent / firstElapsed).toFixed(0)}/s for ${firstElapsed.toFixed(1)} s: each agent's health becomes known and its configuration is read; publish→visible p50 ${first.p50.toFixed(1)} ms p99 ${first.p99.toFixed(1)} ms`,
      });
      const s = stats(probeLatencies.steady);
      rows.push({
        name: `${dbLabel}: ${sc.label}`,
        s,
        note:
          `offered ${(sent / elapsed).toFixed(0)}/s, processed ${(processed / (elapsed + (drainS > 1 ? drainS : 0))).toFixed(0)}/s (${processed}/${sent + probeLatencies.steady.length}); publish→visible p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms; ` +
          `AMS CPU ${(((after.cpuS - before.cpuS) / elapsed) * 100).toFixed(0)}% RSS ${after.rssMb.toFixed(0)} MB; ` +
          `nats-server CPU ${(((natsAfter.cpuS - natsBefore.cpuS) / elapsed) * 100).toFixed(0)}%; dropped ${dropped}; ` +
          (drainS > 1 ? `backlog drained ${drainS.toFixed(1)} s after the load; ` : '') +
          `baseline raw NATS → no-op subscriber ${baselineRate.toFixed(0)}/s (offered/baseline ${(sent / elapsed / baselineRate).toFixed(3)})`,
      });
    } catch (err) {
      const log = fs.readFileSync(path.join(dataDir, 'ams.log'), 'utf8').trim().split('\n').slice(-20).join('\n');
      throw new Error(`${sc.label} on ${dbLabel}: ${(err as Error).message}; the AMS's last log lines:\n${log}`, { cause: err });
    } finally {
      for (const nc of open) await nc.close().catch(() => undefined);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return rows;
}
