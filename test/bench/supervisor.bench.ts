// Supervisor benchmarks (issue 5): (1) crash to running again — kill -9 of an idle process and
// the time until a new process runs and the supervisor says so, for the AMS (retry_delay 0),
// supervisord and PM2 (zero restart delay) and a bare child_process.spawn loop as the floor;
// (2) detection — heartbeats stop, how long after 3 × interval the agent is critical; (3)
// footprint — RSS and CPU of the AMS supervising N idle sample agents against none, per agent.
// Figures are printed, never asserted.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import pino from 'pino';
import { startAms, type RunningAms } from '../../server/ams.js';
import { parseSettings } from '../../server/settings.js';
import { buildAgentSdk } from '../../scripts/build-agent-sdk.js';
import { connectWithCreds } from '../helpers/broker.js';
import { subjects } from '../../server/broker/subjects.js';
import { quick, type Row, stats, type Stats } from './lib.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const silent = pino({ level: 'silent' });

/** The crash fixture every system runs: it idles, and says it runs with one UDP datagram (its PID). */
export const CRASH_FIXTURE = `import dgram from 'node:dgram';
const port = Number(process.argv[2]);
const s = dgram.createSocket('udp4');
s.send(String(process.pid), port, '127.0.0.1', () => s.close());
setInterval(() => {}, 1 << 30);
`;

/** supervisord event listener: one UDP datagram per PROCESS_STATE_RUNNING (supervisord says "running"). */
const SUPERVISORD_LISTENER = `import dgram from 'node:dgram';
const port = Number(process.argv[2]);
const sock = dgram.createSocket('udp4');
let buf = '';
let need = -1;
process.stdout.write('READY\\n');
process.stdin.on('data', (d) => {
  buf += d;
  for (;;) {
    if (need < 0) {
      const nl = buf.indexOf('\\n');
      if (nl < 0) return;
      const header = Object.fromEntries(buf.slice(0, nl).split(' ').map((kv) => kv.split(':')));
      buf = buf.slice(nl + 1);
      need = Number(header.len);
    }
    if (buf.length < need) return;
    const payload = Object.fromEntries(buf.slice(0, need).split(' ').map((kv) => kv.split(':')));
    buf = buf.slice(need);
    need = -1;
    if (payload.processname === 'crash') sock.send('running ' + payload.pid, port, '127.0.0.1');
    process.stdout.write('RESULT 2\\nOKREADY\\n');
  }
});
`;

export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `opmas-bench-${name}-`));
}

/** UDP datagrams from the fixtures, by content, with their arrival time. */
export function udpInbox() {
  const sock = dgram.createSocket('udp4');
  const waiters: Array<{ match: (m: string) => boolean; resolve: (v: { msg: string; at: number }) => void }> = [];
  sock.on('message', (buf) => {
    const at = performance.now();
    const msg = buf.toString();
    for (const w of [...waiters]) if (w.match(msg)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve({ msg, at });
    }
  });
  return {
    ready: new Promise<number>((resolve) => sock.bind(0, '127.0.0.1', () => resolve(sock.address().port))),
    next: (match: (m: string) => boolean, timeoutMs = 20_000) =>
      new Promise<{ msg: string; at: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no datagram in time')), timeoutMs);
        waiters.push({ match, resolve: (v) => (clearTimeout(timer), resolve(v)) });
      }),
    close: () => sock.close(),
  };
}

export interface CrashResult {
  /** kill -9 -> the supervisor reports the new process running. */
  running: number[];
  /** kill -9 -> the new process executes its first line (its datagram). */
  executing: number[];
}

/**
 * Kills the current process `n` times; `reported(oldPid)` resolves with the time the system
 * says a new process runs. Waits for the fixture's datagram before each kill.
 */
export async function crashLoop(n: number, inbox: ReturnType<typeof udpInbox>, firstPid: number, reported: (oldPid: number) => Promise<number>): Promise<CrashResult> {
  const out: CrashResult = { running: [], executing: [] };
  let pid = firstPid;
  const warmup = 3;
  for (let i = 0; i < n + warmup; i++) {
    const hello = inbox.next((m) => /^\d+$/.test(m) && Number(m) !== pid);
    const said = reported(pid);
    const t0 = performance.now();
    process.kill(pid, 'SIGKILL');
    const [runningAt, h] = await Promise.all([said, hello]);
    if (i >= warmup) {
      out.running.push(runningAt - t0);
      out.executing.push(h.at - t0);
    }
    pid = Number(h.msg);
  }
  return out;
}

async function withAms<T>(dbUrl: string | undefined, agentsDir: string, env: NodeJS.ProcessEnv, fn: (ams: RunningAms) => Promise<T>): Promise<T> {
  const dataDir = tmpDir('ams');
  const settings = { ...parseSettings(['--port', '0', '--data-dir', dataDir, '--agents-dir', agentsDir], {}), dbUrl };
  const ams = await startAms(settings, { logger: silent, env, secrets: {}, announce: () => undefined });
  try {
    return await fn(ams);
  } finally {
    await ams.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function crashAms(n: number, fixture: string, port: number, inbox: ReturnType<typeof udpInbox>, dbUrl?: string): Promise<CrashResult> {
  const agentsDir = tmpDir('agents');
  fs.mkdirSync(path.join(agentsDir, 'crash'));
  fs.writeFileSync(path.join(agentsDir, 'crash', '.env.discovery'), `AGENT_NAME=CrashBench\nAGENT_VERSION=1.0.0\nAGENT_TYPE=crash\nAGENT_COMMAND=node ${fixture} ${port}\n`);
  try {
    return await withAms(dbUrl, agentsDir, {}, async (ams) => {
      const id = (await ams.db.knex('agents').first('id')).id as string;
      await ams.services.recovery.putPolicy(id, { retry_delay: 0, max_retries: 1000, recovery_timeout: 3600, stable_after: 3600 }, 'bench');
      const waiters: Array<{ old: number; resolve: (t: number) => void }> = [];
      ams.services.events.subscribe((e) => {
        if (e.type !== 'status.changed' || e.agent_id !== id || e.to !== 'running') return;
        const at = performance.now();
        const pid = Number(e.details.pid);
        for (const w of [...waiters]) if (pid !== w.old) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(at);
        }
      });
      const hello = inbox.next((m) => /^\d+$/.test(m));
      await ams.services.lifecycle.requestStart(id, { actor: 'bench' });
      const first = Number((await hello).msg);
      return crashLoop(n, inbox, first, (old) => new Promise((resolve) => waiters.push({ old, resolve })));
    });
  } finally {
    fs.rmSync(agentsDir, { recursive: true, force: true });
  }
}

async function crashSupervisord(n: number, fixture: string, port: number, inbox: ReturnType<typeof udpInbox>): Promise<CrashResult | string> {
  const bin = ['/usr/bin/supervisord', '/usr/local/bin/supervisord'].find((b) => fs.existsSync(b));
  if (!bin) return 'supervisord is not installed (Debian package `supervisor`)';
  const dir = tmpDir('supervisord');
  const listener = path.join(dir, 'listener.mjs');
  fs.writeFileSync(listener, SUPERVISORD_LISTENER);
  fs.writeFileSync(
    path.join(dir, 'supervisord.conf'),
    [
      '[unix_http_server]', `file=${dir}/supervisor.sock`,
      '[supervisord]', `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, 'nodaemon=true',
      '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '[program:crash]', `command=${process.execPath} ${fixture} ${port}`, 'autostart=true', 'autorestart=true', 'startsecs=0', 'startretries=100000',
      '[eventlistener:watch]', `command=${process.execPath} ${listener} ${port}`, 'events=PROCESS_STATE_RUNNING', 'buffer_size=1000',
    ].join('\n'),
  );
  const hello = inbox.next((m) => /^\d+$/.test(m), 30_000);
  const child = spawn(bin, ['-n', '-c', path.join(dir, 'supervisord.conf')], { stdio: 'ignore' });
  try {
    const first = Number((await hello).msg);
    return await crashLoop(n, inbox, first, (old) => inbox.next((m) => m.startsWith('running ') && Number(m.slice(8)) !== old).then((d) => d.at));
  } finally {
    await stopChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function crashPm2(n: number, fixture: string, port: number, inbox: ReturnType<typeof udpInbox>): Promise<CrashResult | string> {
  const home = tmpDir('pm2');
  process.env.PM2_HOME = home;
  const pm2 = (await import('pm2')).default;
  const call = <T>(fn: (cb: (err: Error | null, v?: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
  try {
    await call((cb) => pm2.connect(cb));
    const bus = await call<{ on(event: string, fn: (p: { event: string; process: { name: string } }) => void): void }>((cb) => pm2.launchBus(cb as never));
    const waiters: Array<(t: number) => void> = [];
    bus.on('process:event', (p) => {
      if (p.event !== 'online' || p.process.name !== 'crash') return;
      const at = performance.now();
      waiters.shift()?.(at);
    });
    const hello = inbox.next((m) => /^\d+$/.test(m), 30_000);
    await call((cb) =>
      pm2.start({ script: fixture, args: [String(port)], name: 'crash', interpreter: process.execPath, autorestart: true, restart_delay: 0, min_uptime: 100, max_restarts: 100000 } as never, cb as never),
    );
    const first = Number((await hello).msg);
    return await crashLoop(n, inbox, first, () => new Promise((resolve) => waiters.push(resolve)));
  } catch (err) {
    return `PM2 failed: ${(err as Error).message}`;
  } finally {
    await call((cb) => pm2.killDaemon(cb as never)).catch(() => undefined);
    pm2.disconnect();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export async function crashBare(n: number, fixture: string, port: number, inbox: ReturnType<typeof udpInbox>): Promise<CrashResult> {
  let child: ChildProcess;
  const spawned: Array<(t: number) => void> = [];
  let stopping = false;
  const launch = () => {
    child = spawn(process.execPath, [fixture, String(port)], { stdio: 'ignore' });
    child.once('spawn', () => spawned.shift()?.(performance.now()));
    child.once('exit', () => {
      if (!stopping) launch();
    });
  };
  const hello = inbox.next((m) => /^\d+$/.test(m));
  launch();
  const first = Number((await hello).msg);
  try {
    return await crashLoop(n, inbox, first, () => new Promise((resolve) => spawned.push(resolve)));
  } finally {
    stopping = true;
    child!.kill('SIGKILL');
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
}

export interface CrashRows {
  running: Row[];
  executing: Row[];
}

/** Benchmark 1. `pgUrl`: also the AMS on PostgreSQL. */
export async function benchCrash(pgUrl?: string): Promise<CrashRows> {
  const n = quick ? 10 : 50;
  const dir = tmpDir('fixture');
  const fixture = path.join(dir, 'crash.mjs');
  fs.writeFileSync(fixture, CRASH_FIXTURE);
  const inbox = udpInbox();
  const port = await inbox.ready;
  try {
    const bare = await crashBare(n, fixture, port, inbox);
    const results: Array<[string, CrashResult | string]> = [
      ['AMS supervisor, PGlite', await crashAms(n, fixture, port, inbox)],
      ...(pgUrl ? ([['AMS supervisor, PostgreSQL', await crashAms(n, fixture, port, inbox, pgUrl)]] as Array<[string, CrashResult]>) : []),
      ['supervisord (startsecs=0)', await crashSupervisord(n, fixture, port, inbox)],
      ['PM2 (restart_delay 0)', await crashPm2(n, fixture, port, inbox)],
    ];
    const rows = (pick: keyof CrashResult): Row[] => {
      const base = stats(bare[pick]);
      return [
        { name: 'bare child_process.spawn (floor)', s: base, note: pick === 'running' ? "until the 'spawn' event" : 'until the fixture runs' },
        ...results.map(([name, r]): Row => (typeof r === 'string' ? { name, s: { n: 0, p50: NaN, p99: NaN, mean: NaN }, note: r } : { name, s: stats(r[pick]), base })),
      ];
    };
    return { running: rows('running'), executing: rows('executing') };
  } finally {
    inbox.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Benchmark 2: heartbeats stop; how long after 3 × interval health is critical. */
export async function benchDetection(): Promise<{ rows: Row[]; samples: number[] }> {
  const agents = quick ? 20 : 100;
  const intervalS = 1;
  const agentsDir = tmpDir('agents');
  try {
    return await withAms(undefined, agentsDir, {}, async (ams) => {
      await ams.services.config.putFleet({ heartbeat_interval: intervalS }, 'bench', null);
      const overshoot: number[] = [];
      const critical = new Map<string, number>();
      ams.services.events.subscribe((e) => {
        if (e.type === 'health.changed' && e.to === 'critical') {
          const last = (e.reasons[0] as { last_heartbeat?: string }).last_heartbeat;
          if (last) critical.set(e.agent_id, Date.now() - (Date.parse(last) + 3 * intervalS * 1000));
        }
      });
      const ids: string[] = [];
      for (let i = 0; i < agents; i++) ids.push((await ams.services.agents.create({ agent_name: `Beat${i}`, agent_version: '1.0.0', agent_type: 'beat' })).id);
      const conns = await Promise.all(
        ids.map(async (id) => {
          const creds = await ams.services.credentials.issueFor(id);
          return connectWithCreds(ams.broker.url!, creds.creds, { inboxPrefix: subjects.agent(id).inboxPrefix });
        }),
      );
      const beat = (i: number) =>
        conns[i].publish(subjects.agent(ids[i]).heartbeat, JSON.stringify({ agent_id: ids[i], status: 'ready', timestamp: new Date().toISOString(), uptime: 1 }));
      // Each agent heartbeats every interval for 2 to 4 s, then stops at a moment of its own.
      await Promise.all(
        ids.map(async (_, i) => {
          const stopAfter = 2000 + Math.random() * 2000;
          const started = Date.now();
          while (Date.now() - started < stopAfter) {
            beat(i);
            await new Promise((r) => setTimeout(r, intervalS * 1000));
          }
        }),
      );
      const deadline = Date.now() + 10_000;
      while (critical.size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      overshoot.push(...critical.values());
      for (const c of conns) await c.close();
      const s = stats(overshoot);
      return {
        samples: overshoot,
        rows: [{ name: `${agents} agents, interval ${intervalS} s: critical after 3 × interval +`, s, note: `max ${Math.max(...overshoot).toFixed(1)} ms; ${ids.length - critical.size} not detected in 10 s; target ≤ 100 ms` }],
      };
    });
  } finally {
    fs.rmSync(agentsDir, { recursive: true, force: true });
  }
}

interface Footprint {
  /** Median RSS (MiB) over the samples, each taken after a full garbage collection, and the samples. */
  rssMb: number;
  rssSamples: number[];
  /** Median V8 heap in use (MiB) after each collection. */
  heapMb: number;
  heapSamples: number[];
  /** Mean CPU of the AMS over the window (percent of one core). */
  cpuPercent: number;
  natsRssMb: number;
}

function procStat(pid: number): { cpuTicks: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuTicks: Number(f[11]) + Number(f[12]), rssMb: rssKb / 1024 };
}

const TICKS = 100; // USER_HZ on Linux
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(q * v.length))];

/**
 * The AMS's own inspector (Chrome DevTools protocol over a WebSocket): forces full garbage
 * collections and reads the V8 heap in use, without any hook in the product.
 */
async function inspector(wsUrl: string) {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const pending = new Map<number, (v: any) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<any>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    collectGarbage: () => call('HeapProfiler.collectGarbage'),
    heapUsedMb: async () => ((await call('Runtime.getHeapUsage')) as { usedSize: number }).usedSize / 1_048_576,
    close: () => ws.close(),
  };
}

/**
 * The built AMS (as host mode runs it) supervising `agents` autostarted sample agents. Once they
 * are all healthy and start-up work has settled: its CPU over `windowS`, then `samples` readings
 * of its RSS and V8 heap, each after a forced full garbage collection.
 */
async function footprint(agents: number, sdk: string, windowS: number, samples: number, password: string, dbUrl?: string): Promise<Footprint & { ready: boolean; agentRssMb: number }> {
  const dataDir = tmpDir('footprint');
  const agentsDir = path.join(dataDir, 'agents');
  fs.mkdirSync(agentsDir, { recursive: true });
  const sample = path.join(REPO, 'resources/agents/security');
  for (let i = 0; i < agents; i++) {
    const dir = path.join(agentsDir, `idle-${i}`);
    fs.cpSync(sample, dir, { recursive: true });
    const file = path.join(dir, '.env.discovery');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('AGENT_NAME=SecurityAgent', `AGENT_NAME=Idle${i}`));
  }
  const args = ['--port', '0', '--data-dir', dataDir, '--agents-dir', agentsDir, '--log-level', 'warn', ...(dbUrl ? ['--db-url', dbUrl] : [])];
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', path.join(REPO, 'out/main/server.js'), ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, OPMAS_ADMIN_PASSWORD: password, OPMAS_AGENT_SDK: sdk },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The AMS's warnings are kept: a run whose agents do not all become healthy prints their tail.
  const warnings: string[] = [];
  const wsUrl = new Promise<string>((resolve) => {
    readline.createInterface({ input: child.stderr! }).on('line', (l) => {
      const m = /Debugger listening on (ws:\/\/\S+)/.exec(l);
      if (m) resolve(m[1]);
      else if (l.startsWith('{')) warnings.push(l.slice(0, 400));
      if (warnings.length > 200) warnings.shift();
    });
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l).url));
      child.once('exit', (c) => reject(new Error(`AMS exited ${c}`)));
    });
    // Signed in again before the access token's 15 minutes are up (the wait for 200 agents may be long).
    let session: { token: string; at: number } | undefined;
    const token = async () => {
      if (!session || Date.now() - session.at > 600_000) {
        const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
        session = { token: ((await login.json()) as { access_token: string }).access_token, at: Date.now() };
      }
      return session.token;
    };
    const api = async (p: string, init: RequestInit = {}) => {
      const r = await fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${await token()}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
      return { status: r.status, json: () => r.json() as Promise<any> };
    };
    // Start them all through the API, a few at a time.
    const list = (await (await api('/api/v1/agents?limit=500')).json()).items as Array<{ id: string }>;
    const refused: number[] = [];
    for (let i = 0; i < list.length; i += 10) {
      for (const r of await Promise.all(list.slice(i, i + 10).map((a) => api(`/api/v1/agents/${a.id}/start`, { method: 'POST' })))) if (r.status !== 202) refused.push(r.status);
    }
    if (refused.length > 0) process.stderr.write(`footprint: ${refused.length} start requests refused (${[...new Set(refused)].join(', ')})\n`);
    const deadline = Date.now() + 900_000;
    let ready = agents === 0;
    let healthy = 0;
    while (!ready && Date.now() < deadline) {
      const status = await api('/api/v1/status');
      if (status.status === 200) healthy = (await status.json()).agents.health.healthy ?? 0;
      ready = healthy >= agents;
      if (!ready) await new Promise((r) => setTimeout(r, 1000));
    }
    if (!ready) process.stderr.write(`footprint: ${healthy} of ${agents} agents healthy in time; the AMS's last warnings:\n${warnings.slice(-30).join('\n')}\n`);
    // Let start-up work (revocations, first flushes, the first rollup run) settle before the window.
    await new Promise((r) => setTimeout(r, (quick ? 10 : 30) * 1000));
    const health = await (await api('/api/v1/health')).json();
    const nats = health.components?.broker?.server?.pid as number | undefined;
    const before = procStat(child.pid!);
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const after = procStat(child.pid!);
    // Memory: each reading after a full collection, so that what garbage happens to be left
    // does not decide the figure; a few seconds apart, so the timers of the agents come round.
    const v8 = await inspector(await wsUrl);
    const rssSamples: number[] = [];
    const heapSamples: number[] = [];
    try {
      for (let i = 0; i < samples; i++) {
        await v8.collectGarbage();
        await new Promise((r) => setTimeout(r, 500));
        rssSamples.push(procStat(child.pid!).rssMb);
        heapSamples.push(await v8.heapUsedMb());
        await new Promise((r) => setTimeout(r, 1500));
      }
    } finally {
      v8.close();
    }
    const agentPids = (await Promise.all(list.slice(0, 5).map(async (a) => (await (await api(`/api/v1/agents/${a.id}/status`)).json()).pid as number))).filter(Boolean);
    const agentRss = agentPids.length ? agentPids.map((p) => procStat(p).rssMb).reduce((a, b) => a + b, 0) / agentPids.length : 0;
    return {
      rssMb: median(rssSamples),
      rssSamples,
      heapMb: median(heapSamples),
      heapSamples,
      cpuPercent: ((after.cpuTicks - before.cpuTicks) / TICKS / windowS) * 100,
      natsRssMb: nats ? procStat(nats).rssMb : NaN,
      ready,
      agentRssMb: agentRss,
    };
  } finally {
    await stopChild(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface FootprintResult {
  agents: number;
  windowS: number;
  base: Footprint & { ready: boolean };
  loaded: Footprint & { ready: boolean; agentRssMb: number };
}

/** Benchmark 3: 200 idle agents against none (BENCH_SUPERVISOR_AGENTS), on the given database. */
export async function benchFootprint(dbUrl?: string): Promise<FootprintResult & { database: string }> {
  const agents = Number(process.env.BENCH_SUPERVISOR_AGENTS ?? (quick ? 50 : 200));
  const windowS = quick ? 20 : 60;
  const samples = quick ? 5 : 9;
  const sdkDir = tmpDir('sdk');
  try {
    if (!fs.existsSync(path.join(REPO, 'out/main/server.js'))) throw new Error('run `npm run build` first: the footprint runs the built AMS entry');
    const sdk = await buildAgentSdk(sdkDir);
    const password = `bench-${Math.random().toString(36).slice(2)}-password`;
    const base = await footprint(0, sdk, windowS, samples, password, dbUrl);
    const loaded = await footprint(agents, sdk, windowS, samples, password, dbUrl);
    return { agents, windowS, base, loaded, database: dbUrl ? 'PostgreSQL' : 'PGlite' };
  } finally {
    fs.rmSync(sdkDir, { recursive: true, force: true });
  }
}

export function printFootprint(r: FootprintResult & { database: string }): void {
  const n = r.agents;
  // Per agent: the difference of the medians, and the range between the low and high quartile differences.
  const per = (loaded: number[], base: number[]) => ({
    mid: (median(loaded) - median(base)) / n,
    lo: (quantile(loaded, 0.25) - quantile(base, 0.75)) / n,
    hi: (quantile(loaded, 0.75) - quantile(base, 0.25)) / n,
  });
  const spread = (v: number[]) => `${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}`;
  const rss = per(r.loaded.rssSamples, r.base.rssSamples);
  const heap = per(r.loaded.heapSamples, r.base.heapSamples);
  console.log(
    `\n## Supervisor footprint: the built AMS (${r.database}) with ${n} idle sample agents (heartbeat 30 s) beside none; ` +
      `RSS and V8 heap after a forced full GC (median of ${r.base.rssSamples.length} samples, min–max), CPU over ${r.windowS} s`,
  );
  console.log('| case | AMS RSS | AMS V8 heap | AMS CPU | note |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  console.log(`| 0 agents | ${r.base.rssMb.toFixed(1)} MB (${spread(r.base.rssSamples)}) | ${r.base.heapMb.toFixed(1)} MB (${spread(r.base.heapSamples)}) | ${r.base.cpuPercent.toFixed(3)} % | nats-server ${r.base.natsRssMb.toFixed(1)} MB |`);
  console.log(
    `| ${n} agents | ${r.loaded.rssMb.toFixed(1)} MB (${spread(r.loaded.rssSamples)}) | ${r.loaded.heapMb.toFixed(1)} MB (${spread(r.loaded.heapSamples)}) | ${r.loaded.cpuPercent.toFixed(3)} % | ` +
      `${r.loaded.ready ? 'all healthy' : 'NOT all healthy in time'}; one agent process itself: ${r.loaded.agentRssMb.toFixed(1)} MB RSS; nats-server ${r.loaded.natsRssMb.toFixed(1)} MB |`,
  );
  console.log(
    `| per agent | ${rss.mid.toFixed(3)} MB (${rss.lo.toFixed(3)} to ${rss.hi.toFixed(3)}) | ${heap.mid.toFixed(3)} MB (${heap.lo.toFixed(3)} to ${heap.hi.toFixed(3)}) | ` +
      `${((r.loaded.cpuPercent - r.base.cpuPercent) / n).toFixed(4)} % | median difference / ${n}, range from the quartiles; target < 1 MB RSS and < 0.05 % CPU per agent |`,
  );
}

export type { Stats };
