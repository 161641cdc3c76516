// An API replica on a real 3-node NATS cluster when nodes die (found by the cluster harness,
// test/cluster/). Its reader of the event stream: the reader's ordered consumer has one replica,
// on one node, so with that node gone neither events nor heartbeats come and the client library
// keeps asking that node; the reader must read on from the next event on a node that is up, while
// the node is still away, with nothing lost or repeated (a WebSocket got nothing for more than a
// minute). Its host monitor: when its connection moves to another node while JetStream is without
// a quorum for a moment, it watches the leases again once it can; when the node holding its lease
// watch (an ordered consumer too) dies, it asks the bucket before calling a host down. No host that
// renewed its lease all along is called down (both hosts were, with a host_down alert each, and
// for a minute).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEvent } from '../../server/events/bus.js';
import { EVENTS_STREAM } from '../../server/events/event-stream.js';
import { subjects } from '../../server/broker/subjects.js';
import { acquireHostLease, type HostLease } from '../../server/supervisor/host-lease.js';
import pino from 'pino';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { connectWithCreds } from '../helpers/broker.js';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-nats-node-loss-'));
let nats: NatsCluster;
let t: TestAms;
let observer: NatsConnection;
const supervisorConns: NatsConnection[] = [];
const leases: HostLease[] = [];

/**
 * A host's supervisor as far as its lease goes: the real lease code on the host's own NATS user.
 * Taken again until it works: just after a node came back, a bucket read may time out.
 */
async function holdLease(hostId: string, renewMs: number): Promise<HostLease> {
  const conn = await connectWithCreds(nats.clientUrl(1), nats.file(`supervisor-${hostId}.creds`), { servers: nats.urls(), inboxPrefix: subjects.host(hostId).inboxPrefix });
  supervisorConns.push(conn);
  const opts = {
    hostId, dataDir: work, version: 'test', logger: pino({ level: 'silent' }), ttlMs: 20_000, renewMs, onLost: () => undefined,
    // A holder left by a failed attempt of this test is not a live supervisor.
    isLiveHolderHere: (holder: string) => leases.some((l) => l.holder === holder),
  };
  const lease = await eventually(() => acquireHostLease(() => conn, opts).catch((err: Error) => err), (l) => !(l instanceof Error), `the lease of ${hostId} taken`, 60_000, 500);
  leases.push(lease as HostLease);
  return lease as HostLease;
}
const seen: AmsEvent[] = [];

beforeAll(async () => {
  nats = await startNatsCluster({ work, nodes: 3, hosts: ['h1', 'h2'], extraArgs: ['--max-mem', '64M', '--max-file', '256M'] });
  for (const f of ['operator.seed', 'account.seed', 'ams.creds', 'system.creds', 'supervisor-h1.creds', 'supervisor-h2.creds']) {
    for (const m of nats.file(f).matchAll(/\bS[OAU][A-Z2-7]{50,}\b/g)) recordSecret(m[0]);
  }
  await nats.waitForMetaLeader(60_000);
  // Leases of 20 s (renewed every third of it by a supervisor): room to place a node's death in a lease's life.
  t = await startTestAms({ env: nats.envFile('api.env'), settings: { role: 'api', leaseTtlS: 20 } });
  t.ams.services.events.subscribe((e) => void seen.push(e));
  observer = await connectWithCreds(nats.clientUrl(1), nats.file('ams.creds'), { servers: nats.urls(), inboxPrefix: subjects.amsInboxPrefix });
});
afterAll(async () => {
  for (const l of leases) await l.stop(false);
  for (const c of supervisorConns) await c.close().catch(() => undefined);
  await observer?.close().catch(() => undefined);
  await t?.stop();
  await nats?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Names of the client connections on node `i` (its monitoring endpoint). */
async function clientsOf(i: number): Promise<string[]> {
  try {
    const res = await fetch(`${nats.monitorUrl(i)}/connz?limit=1024`);
    return ((await res.json()) as { connections?: Array<{ name?: string }> }).connections?.map((c) => c.name ?? '') ?? [];
  } catch {
    return [];
  }
}

/** The node the AMS's connection is on. */
async function nodeOfAms(): Promise<number | undefined> {
  for (const i of [1, 2, 3]) if ((await clientsOf(i)).includes('opmas-ams')) return i;
  return undefined;
}

/** The node holding the AMS's watch of the host leases (the bucket's only push consumer with a subscriber). */
async function leaseWatchNode(): Promise<number | undefined> {
  try {
    const jsm = await jetstreamManager(observer, { timeout: 5000 });
    for await (const c of jsm.consumers.list('KV_OPMAS_HOST_LEASES')) {
      if (!c.config.durable_name && c.push_bound && c.cluster?.leader) return Number(/-(\d+)$/.exec(c.cluster.leader)?.[1]);
    }
  } catch {
    // JetStream electing leaders: ask again
  }
  return undefined;
}

/** The node whose server leads the replica's reader (the stream's only ephemeral consumer). */
async function readerNode(): Promise<number | undefined> {
  try {
    const jsm = await jetstreamManager(observer, { timeout: 5000 });
    for await (const c of jsm.consumers.list(EVENTS_STREAM)) {
      if (!c.config.durable_name && c.cluster?.leader) return Number(/-(\d+)$/.exec(c.cluster.leader)?.[1]);
    }
  } catch {
    // JetStream electing leaders: ask again
  }
  return undefined;
}

const note = (n: number) => ({ type: 'health.changed' as const, agent_id: 'reader-test', from: 'healthy' as const, to: 'warning' as const, reasons: [{ code: 'n', message: String(n), severity: 'warning' as const }] });
const mine = () => seen.flatMap((e) => (e.type === 'health.changed' && e.agent_id === 'reader-test' ? [e] : []));
const numbers = () => mine().map((e) => Number(e.reasons[0].message));

describe('an API replica when NATS nodes die', () => {
  it('reads on from the next event on a node that is up, nothing lost or repeated', async () => {
    const events = t.ams.services.events;
    events.publish(note(0));
    // (The stream's three replicas elect their leaders first: on a loaded machine that takes a while.)
    await eventually(async () => numbers(), (n) => n.length === 1, 'the first event read', 60_000);
    const victim = await eventually(readerNode, (n) => n !== undefined, 'the reader placed on a node', 30_000, 250);

    await nats.killNode(victim!);
    for (let n = 1; n <= 5; n++) events.publish(note(n));
    // The stream itself (three replicas) has them, published by this replica through the nodes left.
    const first = mine()[0].id;
    const lastSeq = async () => (await (await jetstreamManager(observer, { timeout: 5000 })).streams.info(EVENTS_STREAM)).state.last_seq;
    // (A request may time out while the stream elects a leader on the nodes left.)
    await eventually(() => lastSeq().catch(() => -1), (seq) => seq >= first + 5, 'the events in the stream', 45_000, 250);
    // Read while the node is still away (the library alone would wait for it).
    await eventually(async () => numbers(), (n) => n.length >= 6, `the events read with node ${victim} down`, 45_000, 250);
    expect(numbers()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(nats.node(victim!)).toBeUndefined();

    nats.startNode(victim!);
    await nats.waitForMetaLeader(60_000);
    events.publish(note(6));
    await eventually(async () => numbers(), (n) => n.length >= 7, 'an event read after the node is back', 30_000, 250);
    expect(numbers()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
  }, 240_000);

  it('watches the host leases again when its connection moves while JetStream has no quorum: a host that renews all along is never called down', async () => {
    await holdLease('h1', 1000);
    const host = async () => (await t.api.get('/api/v1/hosts/h1')).body;
    await eventually(host, (h) => h.status === 'up', 'host h1 up', 30_000, 250);

    // The AMS's own node and one other die: it reconnects to the last, where JetStream has no quorum until one comes back.
    const amsNode = await eventually(nodeOfAms, (n) => n !== undefined, 'the node the AMS is connected to', 30_000, 250);
    const survivor = [1, 2, 3].find((i) => i !== amsNode)!;
    const third = [1, 2, 3].find((i) => i !== amsNode && i !== survivor)!;
    await Promise.all([nats.killNode(amsNode!), nats.killNode(third)]);
    const reconnected = await eventually(async () => ((await clientsOf(survivor)).includes('opmas-ams') ? Date.now() : 0), (at) => at > 0, 'the AMS reconnected to the node left', 30_000, 100);
    // Three seconds without a quorum (the duration of the fault, not a condition checked).
    await eventually(async () => Date.now() - reconnected, (ms) => ms >= 3000, 'three seconds of the fault', 10_000, 100);
    nats.startNode(third);
    await nats.waitForMetaLeader(60_000);
    const back = Date.now();
    // The lease renewals are seen again (each one is a sighting of the host).
    await eventually(host, (h) => h.last_seen !== null && Date.parse(h.last_seen) > back + 2000, 'the lease renewals seen again', 60_000, 250);

    expect(await host()).toMatchObject({ id: 'h1', status: 'up' });
    expect(seen.filter((e) => e.type === 'host.down')).toEqual([]);
    nats.startNode(amsNode!);
    await nats.waitForMetaLeader(60_000);
  }, 240_000);

  it('asks the bucket before calling a host down when the node holding its lease watch dies: a host that renews all along stays up', async () => {
    const lease = await holdLease('h2', 3_600_000); // renewed by this test only
    const host = async () => (await t.api.get('/api/v1/hosts/h2')).body;
    await eventually(host, (h) => h.status === 'up', 'host h2 up', 30_000, 250);
    // The watch on another node than the AMS's connection (else the reconnection alone makes it again): move the AMS until it is.
    let placement = { ams: 0, watch: 0 };
    for (let moves = 0; ; moves++) {
      placement = await eventually(async () => ({ ams: (await nodeOfAms()) ?? 0, watch: (await leaseWatchNode()) ?? 0 }), (p) => p.ams > 0 && p.watch > 0, 'the AMS and its lease watch placed', 60_000, 250);
      if (placement.ams !== placement.watch) break;
      if (moves === 6) throw new Error(`the lease watch stayed on the AMS's node ${placement.ams}`);
      await nats.killNode(placement.ams);
      nats.startNode(placement.ams);
      await nats.waitForMetaLeader(60_000);
    }

    // A renewal, then 14 s of its 20 s lifetime, then the watch's node dies while the host renews every 2 s.
    await lease.renew();
    const renewedAt = Date.now();
    await eventually(async () => Date.now() - renewedAt, (ms) => ms >= 14_000, 'fourteen seconds into the lease', 30_000, 100);
    await nats.killNode(placement.watch);
    const killedAt = Date.now();
    const renewing = setInterval(() => void lease.renew(), 2000);
    try {
      // Past the lease's lifetime since the last renewal the watch saw (the duration of the fault, not a condition checked) ...
      await eventually(async () => Date.now() - killedAt, (ms) => ms >= 12_000, 'twelve seconds with the node down', 30_000, 100);
      // ... and the renewals seen again, the node still down.
      await eventually(host, (h) => h.last_seen !== null && Date.parse(h.last_seen) > killedAt + 5000, 'the renewals seen again', 60_000, 250);
      expect(nats.node(placement.watch)).toBeUndefined();
      expect(await host()).toMatchObject({ id: 'h2', status: 'up' });
      expect(seen.filter((e) => e.type === 'host.down')).toEqual([]);
    } finally {
      clearInterval(renewing);
      nats.startNode(placement.watch);
      await nats.waitForMetaLeader(60_000);
    }
  }, 240_000);
});
