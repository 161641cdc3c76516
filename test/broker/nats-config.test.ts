// The production NATS generator (scripts/nats-config.ts) against a real 3-node nats-server
// cluster on loopback: the files it writes (modes, no seed printed), the cluster they form with
// JetStream, the AMS user making replicas-3 resources, a supervisor held to its own host, a
// revocation pushed through one node enforced on another, a node killed under the clients, and a
// host added by running the generator again.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { parse as parseEnv } from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { decode, type Account } from '@nats-io/jwt';
import { createCredentialIssuer } from '../../server/broker/credentials.js';
import { OBSERVATIONS_STREAM, EPOCHS_BUCKET, LEASES_BUCKET } from '../../server/broker/host-protocol.js';
import { clusterReplicas, ensureClusterResources } from '../../server/broker/jetstream.js';
import { pushRevocations, readExternalSettings, readSupervisorNatsSettings } from '../../server/broker/external.js';
import { readSeedFile } from '../../server/broker/key-store.js';
import { subjects } from '../../server/broker/subjects.js';
import { acquireHostLease, type HostLease } from '../../server/supervisor/host-lease.js';
import { parseNatsConfigArgs, planNodes, writeNatsConfig, NatsConfigError, type NatsConfigOptions } from '../../scripts/nats-config.js';
import { connectWithCreds, waitFor } from '../helpers/broker.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const NATS_SERVER = '/usr/sbin/nats-server';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-nats-config-'));
const out = path.join(work, 'nats');
const logger = pino({ level: 'silent' });
const nodes = new Map<number, ChildProcess>();
const open: NatsConnection[] = [];
const leases: HostLease[] = [];
let ports: { client: number; route: number; monitor: number };
let generated: { code: number | null; stdout: string; stderr: string };

/** `count` consecutive free loopback ports, three times over (client, route, monitoring bases). */
async function freePortRuns(count: number): Promise<{ client: number; route: number; monitor: number }> {
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

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Runs the generator as an operator would (`npm run nats-config -- ...` is `tsx scripts/nats-config.ts ...`). */
function runGenerator(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'scripts/nats-config.ts'), ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function startNode(i: number): ChildProcess {
  const log = fs.openSync(path.join(work, `node-${i}.log`), 'a');
  const proc = spawn(NATS_SERVER, ['-c', path.join(out, `node-${i}.conf`)], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  nodes.set(i, proc);
  return proc;
}

const clientUrl = (i: number) => `nats://127.0.0.1:${ports.client + i - 1}`;
const monitorUrl = (i: number) => `http://127.0.0.1:${ports.monitor + i - 1}`;
const envFile = (name: string) => parseEnv(fs.readFileSync(path.join(out, name)));
const creds = (name: string) => fs.readFileSync(path.join(out, name), 'utf8');

async function jsz(i: number): Promise<{ meta_cluster?: { leader?: string; cluster_size?: number } } | undefined> {
  try {
    const res = await fetch(`${monitorUrl(i)}/jsz`);
    return res.ok ? ((await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } }) : undefined;
  } catch {
    return undefined;
  }
}

async function connectAs(file: string, servers: string[], extra: Parameters<typeof connectWithCreds>[2] = {}): Promise<NatsConnection> {
  const nc = await connectWithCreds(servers.join(','), creds(file), { servers, reconnectTimeWait: 200, maxReconnectAttempts: -1, ...extra });
  open.push(nc);
  return nc;
}

/** The next permission violation the connection reports for a subject. */
async function nextViolation(nc: NatsConnection, subject: string): Promise<InstanceType<typeof natsErrors.PermissionViolationError>> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && s.error instanceof natsErrors.PermissionViolationError && s.error.subject === subject) return s.error;
  }
  throw new Error('connection closed without a permission violation');
}

/** Whether a node takes a user: accepted, refused (authorization) or unreachable (not up). */
async function connectOutcome(url: string, userCreds: string): Promise<'accepted' | 'refused' | 'unreachable'> {
  try {
    const nc = await connectWithCreds(url, userCreds, { reconnect: false, timeout: 3000 });
    await nc.close();
    return 'accepted';
  } catch (err) {
    return err instanceof natsErrors.AuthorizationError ? 'refused' : 'unreachable';
  }
}

function allSeeds(): string[] {
  const seeds: string[] = [];
  const scan = (dir: string) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, f.name);
      if (f.isDirectory()) {
        if (f.name !== 'data') scan(p);
        continue;
      }
      for (const m of fs.readFileSync(p, 'utf8').matchAll(/\bS[OAU][A-Z2-7]{50,}\b/g)) seeds.push(m[0]);
    }
  };
  scan(out);
  return seeds;
}

beforeAll(async () => {
  ports = await freePortRuns(3);
  generated = await runGenerator([
    '--nodes', '3', '--out', out, '--hosts', 'h1,h2',
    '--host', '127.0.0.1', '--base-port', String(ports.client), '--cluster-base-port', String(ports.route), '--monitor-base-port', String(ports.monitor),
    '--jetstream-dir', path.join(work, 'data'),
  ]);
  if (generated.code !== 0) throw new Error(`nats-config failed: ${generated.stderr}`);
  for (const i of [1, 2, 3]) startNode(i);
});

afterAll(async () => {
  for (const l of leases) await l.stop(false).catch(() => undefined);
  for (const nc of open) await nc.close().catch(() => undefined);
  await Promise.all(
    [...nodes.values()].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
  fs.rmSync(work, { recursive: true, force: true });
});

describe('nats-config: the generated files', () => {
  it('writes the trust chain, node configs, users and env files, secrets 0600 in a 0700 folder, and prints no seed', () => {
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    for (const f of ['operator.seed', 'account.seed', 'ams.creds', 'system.creds', 'supervisor-h1.creds', 'supervisor-h2.creds', 'keys/operator.nk', 'keys/account.nk', 'keys/system-account.nk']) {
      expect(fs.statSync(path.join(out, f)).mode & 0o777, f).toBe(0o600);
    }
    for (const f of ['operator.jwt', 'system-account.jwt', 'account.jwt', 'node-1.conf', 'node-2.conf', 'node-3.conf', 'api.env', 'supervisor-h1.env', 'supervisor-h2.env', 'env']) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    const seeds = allSeeds();
    expect(seeds.length).toBeGreaterThanOrEqual(9);
    for (const s of seeds) {
      expect(generated.stdout).not.toContain(s);
      expect(generated.stderr).not.toContain(s);
    }
    // Node configs carry JWTs and public keys only.
    for (const i of [1, 2, 3]) expect(fs.readFileSync(path.join(out, `node-${i}.conf`), 'utf8')).not.toMatch(/\bS[OAU][A-Z2-7]{50,}\b/);
    expect(generated.stdout).toContain(`OPMAS_NATS_URL  ${clientUrl(1)},${clientUrl(2)},${clientUrl(3)}`);

    // The account JWT: JetStream limits and the signing key account.seed holds.
    const account = decode<Account>(fs.readFileSync(path.join(out, 'account.jwt'), 'utf8').trim());
    expect(account.nats.limits).toMatchObject({ mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 });
    expect(account.nats.signing_keys).toContain(readSeedFile(path.join(out, 'account.seed'), 'SA').getPublicKey());

    // The env files are what the code reads: the api role's and a supervisor's settings parse.
    const api = readExternalSettings(envFile('api.env'));
    expect(api.servers).toEqual([clientUrl(1), clientUrl(2), clientUrl(3)]);
    expect(api.accountPublicKey).toBe(account.sub);
    expect(api.systemCreds).toBeDefined();
    expect(api.operatorSigningKey).toBeDefined();
    const sup = readSupervisorNatsSettings(envFile('supervisor-h1.env'));
    expect(sup.creds).toBe(creds('supervisor-h1.creds'));
    expect(envFile('supervisor-h1.env').OPMAS_HOST_ID).toBe('h1');
    // A supervisor host gets nothing but its URL, its own creds and its id.
    expect(Object.keys(envFile('supervisor-h2.env')).sort()).toEqual(['OPMAS_HOST_ID', 'OPMAS_NATS_CREDS', 'OPMAS_NATS_URL']);
  });

  it('refuses bad flags naming each one, and keys that do not fit an earlier run', async () => {
    const bad = await runGenerator(['--out', path.join(work, 'bad'), '--nodes', '0', '--hosts', 'h1,no good']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--nodes must be an integer from 1 to 15');
    expect(bad.stderr).toContain('--hosts: "no good" is not a host id');
    expect(fs.existsSync(path.join(work, 'bad'))).toBe(false);
    expect(() => parseNatsConfigArgs(['--nodes', '3'])).toThrow(/--out is required/);
    expect(() => parseNatsConfigArgs(['--out', 'x', '--bogus'])).toThrow(NatsConfigError);
    // Derived ports: routes at base + 2000, monitoring (when asked for) at base + 4000.
    const derived = planNodes({ ...(parseNatsConfigArgs(['--out', 'x', '--base-port', '5000', '--monitor']) as NatsConfigOptions), out: work });
    expect(derived.map((n) => [n.clientAddress, n.routeAddress, n.monitor])).toEqual([
      ['127.0.0.1:5000', '127.0.0.1:7000', '127.0.0.1:9000'],
      ['127.0.0.1:5001', '127.0.0.1:7001', '127.0.0.1:9001'],
      ['127.0.0.1:5002', '127.0.0.1:7002', '127.0.0.1:9002'],
    ]);
    // Nodes on their own addresses all use the base ports.
    const spread = planNodes({ ...(parseNatsConfigArgs(['--out', 'x', '--host', '0.0.0.0', '--node-hosts', 'a,b,c']) as NatsConfigOptions), out: work });
    expect(spread.map((n) => [n.listen, n.clientAddress, n.routeAddress])).toEqual([
      ['0.0.0.0:4222', 'a:4222', 'a:6222'],
      ['0.0.0.0:4222', 'b:4222', 'b:6222'],
      ['0.0.0.0:4222', 'c:4222', 'c:6222'],
    ]);
    expect(() => parseNatsConfigArgs(['--out', 'x', '--host', '0.0.0.0'])).not.toThrow();
    await expect(writeNatsConfig({ ...(parseNatsConfigArgs(['--out', path.join(work, 'bad2'), '--host', '0.0.0.0']) as NatsConfigOptions) })).rejects.toThrow(/--host 0\.0\.0\.0 needs --node-hosts/);

    // An operator.seed that is not in operator.jwt's signing keys: refused, nothing rewritten.
    const other = path.join(work, 'other');
    const base = parseNatsConfigArgs(['--out', other, '--hosts', 'h1']) as NatsConfigOptions;
    await writeNatsConfig(base);
    const before = fs.readFileSync(path.join(other, 'node-1.conf'), 'utf8');
    fs.copyFileSync(path.join(other, 'keys', 'operator.nk'), path.join(other, 'operator.seed'));
    await expect(writeNatsConfig(base)).rejects.toThrow(/operator\.seed is not one of its signing keys/);
    expect(fs.readFileSync(path.join(other, 'node-1.conf'), 'utf8')).toBe(before);
    // A lost identity key is not silently replaced by a new one that fits nothing.
    fs.rmSync(path.join(other, 'keys', 'account.nk'));
    await expect(writeNatsConfig(base)).rejects.toThrow(/not keys\/account\.nk/);
    expect(fs.existsSync(path.join(other, 'keys', 'account.nk'))).toBe(false);
  });
});

describe('nats-config: the cluster it describes', () => {
  let ams: NatsConnection;
  let supervisor: NatsConnection;
  let victimCreds = '';

  it('forms a 3-node cluster with a JetStream meta leader', async () => {
    await waitFor(async () => {
      const all = await Promise.all([1, 2, 3].map(jsz));
      return all.every((j) => j?.meta_cluster?.cluster_size === 3 && Boolean(j.meta_cluster.leader));
    }, 'the JetStream meta leader on every node', 45_000);
  });

  it('lets the AMS user create the observation stream and lease buckets with 3 replicas', async () => {
    const api = envFile('api.env');
    ams = await connectAs('ams.creds', api.OPMAS_NATS_URL.split(','), { inboxPrefix: subjects.amsInboxPrefix });
    // Every node's client URL reaches the client by gossip.
    await waitFor(() => clusterReplicas(ams) === 3, 'all three nodes in the connect URLs');
    await waitFor(() => ensureClusterResources(ams, 10_000).then(() => true), 'the cluster resources', 30_000);
    const jsm = await jetstreamManager(ams, { timeout: 10_000 });
    for (const name of [OBSERVATIONS_STREAM, `KV_${LEASES_BUCKET}`, `KV_${EPOCHS_BUCKET}`]) {
      const info = await waitFor(() => jsm.streams.info(name), `stream ${name}`);
      expect(info.config.num_replicas, name).toBe(3);
      expect(info.cluster?.replicas?.length, name).toBe(2);
    }
  });

  it("lets a supervisor take its host's lease and publish its own observations, and not another host's", async () => {
    const env = envFile('supervisor-h1.env');
    supervisor = await connectAs('supervisor-h1.creds', env.OPMAS_NATS_URL.split(','), { inboxPrefix: subjects.host('h1').inboxPrefix });
    const dataDir = fs.mkdtempSync(path.join(work, 'sup-'));
    const lease = await acquireHostLease(() => supervisor, { hostId: 'h1', dataDir, version: 'test', logger, ttlMs: 10_000, renewMs: 1000, onLost: () => undefined });
    leases.push(lease);
    expect(lease.epoch).toBeGreaterThanOrEqual(1);

    const js = jetstream(supervisor, { timeout: 10_000 });
    const ack = await js.publish(subjects.host('h1').observation('test'), JSON.stringify({ probe: 1 }), { msgID: 'h1:probe:1' });
    expect(ack.stream).toBe(OBSERVATIONS_STREAM);

    const denied = nextViolation(supervisor, subjects.host('h2').observation('test'));
    supervisor.publish(subjects.host('h2').observation('test'), '{}');
    expect((await denied).operation).toBe('publish');
  });

  it('pushes a revocation through one node with system.creds and the operator key, enforced on another node', async () => {
    // A user of the application account, signed as the API role signs agents, connected to node 3 only.
    const api = readExternalSettings(envFile('api.env'));
    const issuer = createCredentialIssuer({
      accountPublicKey: api.accountPublicKey,
      signingKey: api.accountSigningKey,
      revocations: { list: () => ({}), add: () => undefined },
      applyRevocations: async () => ({ applied: false, detail: '' }),
    });
    const victim = await issuer.issueUser('victim', { pub: { allow: ['probe.>'] }, sub: { allow: ['_INBOX.>'] } });
    const onNode3 = await connectWithCreds(clientUrl(3), victim.creds, { reconnect: false });
    open.push(onNode3);
    const closed = onNode3.closed();

    const outcome = await pushRevocations({ ...api, servers: [clientUrl(1)] }, { [victim.publicKey]: Math.floor(Date.now() / 1000) });
    expect(outcome).toMatchObject({ applied: true });
    await waitFor(() => closed.then(() => true), 'node 3 to close the revoked user');
    await waitFor(async () => (await connectOutcome(clientUrl(3), victim.creds)) === 'refused', 'node 3 to refuse the revoked user');
    // Revoked, not deleted: the same account still takes its other users on node 3.
    const still = await connectWithCreds(clientUrl(3), creds('ams.creds'), { reconnect: false, inboxPrefix: subjects.amsInboxPrefix });
    await still.close();
    victimCreds = victim.creds;
  });

  it('survives SIGKILL of the node the clients are on: they reconnect and the stream still answers', async () => {
    const current = ams.getServer();
    const index = [1, 2, 3].find((i) => current.endsWith(`:${ports.client + i - 1}`));
    expect(index).toBeDefined();
    const reconnected = (async () => {
      for await (const s of ams.status()) if (s.type === 'reconnect') return s.server;
      return undefined;
    })();
    nodes.get(index!)!.kill('SIGKILL');
    const to = await waitFor(() => reconnected, 'the AMS connection to reconnect');
    expect(to).not.toBe(current);

    // Until the meta group and the stream have elected new leaders, JetStream requests time out.
    const info = await waitFor(
      async () => (await jetstreamManager(ams, { timeout: 5000, checkAPI: false })).streams.info(OBSERVATIONS_STREAM),
      'the stream to answer after the node died',
      45_000,
    );
    expect(info.state.messages).toBeGreaterThanOrEqual(1);
    // The supervisor goes on publishing and renewing on the surviving nodes.
    const js = jetstream(supervisor, { timeout: 10_000 });
    await waitFor(() => js.publish(subjects.host('h1').observation('test'), '{"probe":2}', { msgID: 'h1:probe:2' }), 'an observation after the node died', 30_000);
    const lease = leases[0];
    await waitFor(async () => {
      await lease.renew();
      return !lease.lost();
    }, 'the lease renewed after the node died');

    // The node comes back with its old config (the preloaded account JWT predates the
    // revocation) and still refuses the revoked user: the resolver kept the newer JWT.
    startNode(index!);
    await waitFor(async () => (await jsz(index!))?.meta_cluster?.cluster_size === 3, 'the node back in the cluster', 30_000);
    // Not up yet is retried; accepted even once is the failure this checks for.
    const outcome = await waitFor(async () => {
      const o = await connectOutcome(clientUrl(index!), victimCreds);
      return o === 'unreachable' ? undefined : o;
    }, 'the restarted node to answer');
    expect(outcome).toBe('refused');
    // Settled again: every stream has a leader and both followers current.
    await waitFor(async () => {
      const jsm = await jetstreamManager(ams, { timeout: 5000, checkAPI: false });
      const infos = await Promise.all([OBSERVATIONS_STREAM, `KV_${LEASES_BUCKET}`, `KV_${EPOCHS_BUCKET}`].map((n) => jsm.streams.info(n)));
      return infos.every((i) => Boolean(i.cluster?.leader) && i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current));
    }, 'every stream back to three current replicas', 45_000);
  });

  it('adds a host by running the generator again: keys, JWTs and users kept, a working user for the new host', async () => {
    const keep = ['operator.jwt', 'account.jwt', 'system-account.jwt', 'operator.seed', 'account.seed', 'ams.creds', 'system.creds', 'supervisor-h1.creds', 'node-1.conf'];
    const before = Object.fromEntries(keep.map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]));
    const again = await runGenerator([
      '--nodes', '3', '--out', out, '--hosts', 'h3',
      '--host', '127.0.0.1', '--base-port', String(ports.client), '--cluster-base-port', String(ports.route), '--monitor-base-port', String(ports.monitor),
      '--jetstream-dir', path.join(work, 'data'),
    ]);
    expect(again.code).toBe(0);
    for (const f of keep) expect(fs.readFileSync(path.join(out, f), 'utf8'), f).toBe(before[f]);
    expect(again.stdout).toMatch(/written: supervisor-h3\.creds /);
    expect(again.stdout).toMatch(/kept: .*ams\.creds/);
    // Earlier hosts keep their env files; the overview lists all three.
    for (const h of ['h1', 'h2', 'h3']) expect(fs.existsSync(path.join(out, `supervisor-${h}.env`))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'env'), 'utf8')).toContain('## supervisor-h3.env');

    // No server change is needed: the new user is signed by the account's signing key.
    const h3 = await connectAs('supervisor-h3.creds', envFile('supervisor-h3.env').OPMAS_NATS_URL.split(','), { inboxPrefix: subjects.host('h3').inboxPrefix });
    const dataDir = fs.mkdtempSync(path.join(work, 'sup-'));
    // A supervisor that cannot take its lease exits and is restarted (the systemd unit's Restart=): retried here.
    const lease = await waitFor(
      () => acquireHostLease(() => h3, { hostId: 'h3', dataDir, version: 'test', logger, ttlMs: 10_000, renewMs: 1000, onLost: () => undefined }),
      'the lease of the new host',
      30_000,
    );
    leases.push(lease);
    expect(lease.epoch).toBeGreaterThanOrEqual(1);
  });
});
