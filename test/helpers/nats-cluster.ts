// A real nats-server cluster on loopback, set up as an operator would: the files written by
// `npm run nats-config` (scripts/nats-config.ts, run as a process), one nats-server per node, with
// handles to SIGKILL and start each node again. Shared by the generator's own test and the cluster
// harness (test/cluster/).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { REPO_ROOT } from './spawn-ams.js';
import { waitFor } from './broker.js';

export const NATS_SERVER = process.env.OPMAS_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface PortBases {
  client: number;
  route: number;
  monitor: number;
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `count` consecutive free loopback ports, three times over (client, route, monitoring bases). */
export async function freePortRuns(count: number): Promise<PortBases> {
  const taken = new Set<number>();
  const run = async (): Promise<number> => {
    for (;;) {
      const base = 20_000 + Math.floor(Math.random() * 40_000);
      const range = Array.from({ length: count }, (_, i) => base + i);
      if (range.some((p) => taken.has(p))) continue;
      const ok = await Promise.all(range.map(portFree));
      if (ok.every(Boolean)) {
        for (const p of range) taken.add(p);
        return base;
      }
    }
  };
  return { client: await run(), route: await run(), monitor: await run() };
}

export interface GeneratorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the generator as an operator would (`npm run nats-config -- ...` is `tsx scripts/nats-config.ts ...`). */
export function runNatsConfig(args: string[]): Promise<GeneratorRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts/nats-config.ts'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface JszInfo {
  meta_cluster?: { leader?: string; cluster_size?: number };
}

export interface NatsCluster {
  /** The generator's output folder. */
  out: string;
  ports: PortBases;
  nodeCount: number;
  /** What the generator printed the first time. */
  generated: GeneratorRun;
  /** The generator's flags for this cluster's nodes (to run it again on the same folder). */
  nodeFlags: string[];
  clientUrl(i: number): string;
  monitorUrl(i: number): string;
  /** OPMAS_NATS_URL as the env files give it. */
  urls(): string[];
  /** Node `i`'s process (undefined while it is not running). */
  node(i: number): ChildProcess | undefined;
  startNode(i: number): ChildProcess;
  /** SIGKILL of node `i`; resolves once it is gone. */
  killNode(i: number): Promise<void>;
  jsz(i: number): Promise<JszInfo | undefined>;
  /** Waits until every running node reports a cluster of `nodeCount` with a meta leader. */
  waitForMetaLeader(timeoutMs?: number): Promise<void>;
  /** The index of the node a client URL (`nats://127.0.0.1:P` or `127.0.0.1:P`) belongs to. */
  nodeOf(server: string): number | undefined;
  envFile(name: string): Record<string, string>;
  file(name: string): string;
  stop(): Promise<void>;
}

export interface StartNatsClusterOptions {
  /** A folder of the caller's; the cluster writes `nats/` (generated files) and `node-<i>.log` into it. */
  work: string;
  nodes?: number;
  hosts?: string[];
  /** Extra generator flags (`--max-mem 256M`, ...). */
  extraArgs?: string[];
}

/** Generates the setup with scripts/nats-config.ts and starts every node (not waiting for the meta leader). */
export async function startNatsCluster(opts: StartNatsClusterOptions): Promise<NatsCluster> {
  const nodeCount = opts.nodes ?? 3;
  const out = path.join(opts.work, 'nats');
  const ports = await freePortRuns(nodeCount);
  const nodeFlags = [
    '--nodes', String(nodeCount),
    '--host', '127.0.0.1', '--base-port', String(ports.client), '--cluster-base-port', String(ports.route), '--monitor-base-port', String(ports.monitor),
    '--jetstream-dir', path.join(opts.work, 'nats-data'),
  ];
  const generated = await runNatsConfig(['--out', out, ...nodeFlags, ...(opts.hosts?.length ? ['--hosts', opts.hosts.join(',')] : []), ...(opts.extraArgs ?? [])]);
  if (generated.code !== 0) throw new Error(`nats-config failed: ${generated.stderr}`);
  const nodes = new Map<number, ChildProcess>();

  const startNode = (i: number): ChildProcess => {
    const log = fs.openSync(path.join(opts.work, `node-${i}.log`), 'a');
    const proc = spawn(NATS_SERVER, ['-c', path.join(out, `node-${i}.conf`)], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    nodes.set(i, proc);
    proc.once('exit', () => {
      if (nodes.get(i) === proc) nodes.delete(i);
    });
    return proc;
  };
  const gone = (p: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  const clientUrl = (i: number) => `nats://127.0.0.1:${ports.client + i - 1}`;
  const monitorUrl = (i: number) => `http://127.0.0.1:${ports.monitor + i - 1}`;
  const jsz = async (i: number): Promise<JszInfo | undefined> => {
    try {
      const res = await fetch(`${monitorUrl(i)}/jsz`);
      return res.ok ? ((await res.json()) as JszInfo) : undefined;
    } catch {
      return undefined;
    }
  };
  for (let i = 1; i <= nodeCount; i++) startNode(i);

  return {
    out,
    ports,
    nodeCount,
    generated,
    nodeFlags,
    clientUrl,
    monitorUrl,
    urls: () => Array.from({ length: nodeCount }, (_, k) => clientUrl(k + 1)),
    node: (i) => nodes.get(i),
    startNode,
    async killNode(i) {
      const p = nodes.get(i);
      if (p) await gone(p);
    },
    jsz,
    async waitForMetaLeader(timeoutMs = 45_000) {
      await waitFor(async () => {
        const running = [...nodes.keys()];
        const all = await Promise.all(running.map(jsz));
        return all.every((j) => j?.meta_cluster?.cluster_size === nodeCount && Boolean(j.meta_cluster.leader));
      }, 'the JetStream meta leader on every node', timeoutMs);
    },
    nodeOf(server) {
      const port = Number(server.split(':').at(-1));
      const i = port - ports.client + 1;
      return i >= 1 && i <= nodeCount ? i : undefined;
    },
    envFile: (name) => parseEnv(fs.readFileSync(path.join(out, name))),
    file: (name) => fs.readFileSync(path.join(out, name), 'utf8'),
    async stop() {
      await Promise.all([...nodes.values()].map(gone));
    },
  };
}
