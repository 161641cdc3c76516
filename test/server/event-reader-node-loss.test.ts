// A replica's reader of the event stream when the NATS node holding its consumer dies: the
// reader's ordered consumer has one replica, on one node, so with that node gone neither events
// nor heartbeats come, and the client library keeps asking that node. The reader must read on
// from the next event on a node that is up, while the node is still away, with nothing lost or
// repeated. Found by the cluster harness (test/cluster/: a WebSocket got nothing for more than a
// minute after a NATS node was killed); here with an API replica on a real 3-node cluster.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEvent } from '../../server/events/bus.js';
import { EVENTS_STREAM } from '../../server/events/event-stream.js';
import { subjects } from '../../server/broker/subjects.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { connectWithCreds } from '../helpers/broker.js';
import { startNatsCluster, type NatsCluster } from '../helpers/nats-cluster.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-reader-node-loss-'));
let nats: NatsCluster;
let t: TestAms;
let observer: NatsConnection;
const seen: AmsEvent[] = [];

beforeAll(async () => {
  nats = await startNatsCluster({ work, nodes: 3, extraArgs: ['--max-mem', '64M', '--max-file', '256M'] });
  for (const f of ['operator.seed', 'account.seed', 'ams.creds', 'system.creds']) {
    for (const m of nats.file(f).matchAll(/\bS[OAU][A-Z2-7]{50,}\b/g)) recordSecret(m[0]);
  }
  await nats.waitForMetaLeader(60_000);
  t = await startTestAms({ env: nats.envFile('api.env'), settings: { role: 'api' } });
  t.ams.services.events.subscribe((e) => void seen.push(e));
  observer = await connectWithCreds(nats.clientUrl(1), nats.file('ams.creds'), { servers: nats.urls(), inboxPrefix: subjects.amsInboxPrefix });
});
afterAll(async () => {
  await observer?.close().catch(() => undefined);
  await t?.stop();
  await nats?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The node whose server leads the replica's reader (the stream's only ephemeral consumer). */
async function readerNode(): Promise<number | undefined> {
  const jsm = await jetstreamManager(observer, { timeout: 5000 });
  for await (const c of jsm.consumers.list(EVENTS_STREAM)) {
    if (!c.config.durable_name && c.cluster?.leader) return Number(/-(\d+)$/.exec(c.cluster.leader)?.[1]);
  }
  return undefined;
}

const note = (n: number) => ({ type: 'health.changed' as const, agent_id: 'reader-test', from: 'healthy' as const, to: 'warning' as const, reasons: [{ code: 'n', message: String(n), severity: 'warning' as const }] });
const mine = () => seen.flatMap((e) => (e.type === 'health.changed' && e.agent_id === 'reader-test' ? [e] : []));
const numbers = () => mine().map((e) => Number(e.reasons[0].message));

describe('the event stream reader when its NATS node dies', () => {
  it('reads on from the next event on a node that is up, nothing lost or repeated', async () => {
    const events = t.ams.services.events;
    events.publish(note(0));
    await eventually(async () => numbers(), (n) => n.length === 1, 'the first event read');
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
  });
});
