// Issue 14's cluster on one machine (test/cluster/harness.ts): PostgreSQL, a 3-node NATS cluster,
// API replicas A and B and the supervisors of hosts h1 and h2, each its own process of the built
// server, with the sample agents running on both hosts. The scenarios run one after the other on
// the same cluster; after each one, no agent has ever had two processes (the process table is
// sampled every 250 ms from the start), the live events a WebSocket client received (moving to
// the other replica whenever its own went away) are exactly the status history, and every
// heartbeat and metrics message the agents published was written once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/wait.js';
import { compareWithHistory, diffIsEmpty, heartbeatWindow, historyOf, type EventDiff } from './checks.js';
import { startCluster, type ApiReplica, type Cluster } from './harness.js';
import { startLiveClient, type LiveClient, type LiveEvent } from './live.js';

let c: Cluster;
let A: ApiReplica;
let B: ApiReplica;
const opened: LiveClient[] = [];
const timings: Array<[string, number]> = [];

beforeAll(async () => {
  const t0 = Date.now();
  c = await startCluster();
  [A, B] = c.api;
  // Heartbeats every 2 s, so that every scenario sees traffic; crashed agents are restarted at once.
  const fleet = await A.api.put('/api/v1/config', { config: { heartbeat_interval: 2 }, reason: 'cluster harness' });
  expect(fleet.status, JSON.stringify(fleet.body)).toBe(200);
  for (const id of c.allAgentIds()) {
    const res = await A.api.put(`/api/v1/agents/${id}/recovery/policy`, { retry_delay: 0.2, backoff_factor: 1, max_retries: 1000, stable_after: 5 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  timings.push(['cluster started', Date.now() - t0]);
});

afterAll(async () => {
  await Promise.all(opened.map((o) => o.close()));
  const t0 = Date.now();
  await c?.stop();
  timings.push(['cluster stopped', Date.now() - t0]);
  console.log(`cluster timings: ${timings.map(([what, ms]) => `${what} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
});

function live(urls: string[], opts: { from?: number; reconnect?: boolean } = {}): LiveClient {
  const client = startLiveClient({ urls, token: () => c.adminToken(), reconnect: opts.reconnect ?? false, from: opts.from });
  opened.push(client);
  return client;
}

const statusOf = (r: ApiReplica, id: string) => r.api.get(`/api/v1/agents/${id}/status`);

async function waitRunning(r: ApiReplica, id: string, what: string, timeoutMs = 60_000) {
  const res = await eventually(() => statusOf(r, id), (s) => s.status === 200 && s.body.process_status === 'running' && s.body.health_status === 'healthy', what, timeoutMs, 200);
  return res.body;
}

/**
 * After each scenario: no agent ever ran twice; the witness's live events equal the status
 * history of every agent; heartbeats written once since `since` (exactly, or at most once where
 * the scenario killed a process that held received messages in its batch).
 */
async function assertInvariants(since: number, heartbeats: 'exact' | 'at-most-once') {
  expect(c.sampler.violations(), 'an agent with two processes').toEqual([]);
  expect(c.sampler.count()).toBeGreaterThan(0);

  const ids = c.allAgentIds();
  let diff: EventDiff | undefined;
  try {
    await eventually(
      async () => (diff = compareWithHistory(c.witness.events, await historyOf(c, ids), ids, c.witness.controls)),
      diffIsEmpty,
      'the live events to match the status history',
      60_000,
      500,
    );
  } catch {
    // The diff says what is wrong better than the timeout does.
  }
  expect(diff).toEqual({ missing: [], extra: [], duplicateIds: [], outOfOrder: [], resyncs: [] });

  // The window ends a little in the past, so that what was received then has been flushed; it
  // lasts until every agent has published a few times in it.
  await eventually(
    async () => c.heartbeats.countsBetween(since, Date.now() - 3000),
    (seen) => ids.every((id) => (seen.get(id) ?? 0) >= 4),
    'a few heartbeats of every agent in the window',
    60_000,
    250,
  );
  const window = await heartbeatWindow(c, since, Date.now() - 3000);
  expect(window.seen, `heartbeats seen ${JSON.stringify(window)}`).toBeGreaterThan(0);
  const matched = (await historyOf(c, ids)).length;
  console.log(`invariants: ${c.sampler.count()} process samples, ${c.witness.events.length} live events against ${matched} history rows, heartbeats ${window.from}..${window.to}: ${window.seen} seen, ${window.written} written`);
  for (const [agent, [seen, written]] of Object.entries(window.perAgent)) {
    if (heartbeats === 'exact') expect(written, `rows of ${agent} in ${window.from}..${window.to}`).toBe(seen);
    else expect(written, `rows of ${agent} in ${window.from}..${window.to}`).toBeLessThanOrEqual(seen);
  }
}

describe('one control plane through any replica', () => {
  it('starts agents through A, shows them through B, and B\'s WebSocket receives every event caused through A, in order; a reconnection to A with the last id gets exactly the missed ones', async () => {
    const t0 = Date.now();
    const onA = live([A.url]);
    const onB = live([B.url]);
    await Promise.all([onA.opened(), onB.opened()]);
    const ids = c.allAgentIds();
    // Each host up once its supervisor holds its lease (GET /hosts through either replica).
    for (const h of c.hosts) {
      const host = await eventually(() => B.api.get(`/api/v1/hosts/${h.hostId}`), (r) => r.body?.status === 'up', `host ${h.hostId} up`, 30_000, 200);
      expect(host.body).toMatchObject({ id: h.hostId, epoch: h.proc.ready()!.epoch, agents: { total: 2 } });
    }

    for (const id of ids) {
      const res = await A.api.post(`/api/v1/agents/${id}/start`);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body.host_status).toBe('up');
    }
    for (const id of ids) await waitRunning(B, id, `${id} running and healthy, seen through B`);
    for (const id of ids) {
      const agent = (await B.api.get(`/api/v1/agents/${id}`)).body;
      expect(agent.desired_state).toBe('running');
      expect(c.sampler.pidsOf(id)).toHaveLength(1);
    }

    // B was sent each start as A recorded it, in the order A was asked.
    const requested: LiveEvent[] = [];
    for (const id of ids) {
      requested.push(await onB.waitForEvent((e) => e.type === 'status.changed' && e.agent_id === id && e.event_type === 'start_requested', `start_requested of ${id} on B`));
      await onB.waitForEvent((e) => e.type === 'status.changed' && e.agent_id === id && e.event_type === 'process_started', `process_started of ${id} on B`);
    }
    expect(requested.map((e) => e.id)).toEqual([...requested.map((e) => e.id)].sort((x, y) => x - y));
    // The same events, ids and order on both replicas.
    await eventually(async () => [onA.lastId(), onB.lastId()], ([a, b]) => a === b && a >= requested.at(-1)!.id, 'both sockets at the same event', 30_000, 50);
    const upTo = onA.lastId();
    const from = Math.max(onA.events[0].id, onB.events[0].id);
    const range = (l: LiveClient) => l.events.filter((e) => e.id >= from && e.id <= upTo);
    expect(range(onB).length).toBeGreaterThanOrEqual(ids.length * 2);
    expect(range(onB)).toEqual(range(onA));

    // B's client goes away; meanwhile A stops the Wi-Fi agents; it comes back to A with its last id.
    const last = onB.lastId();
    await onB.close();
    const wifi = c.hosts.map((h) => c.agents[h.hostId].wifi);
    for (const id of wifi) expect((await A.api.post(`/api/v1/agents/${id}/stop`)).status).toBe(202);
    for (const id of wifi) await onA.waitForEvent((e) => e.type === 'status.changed' && e.agent_id === id && e.event_type === 'process_stopped', `${id} stopped`);
    const until = onA.lastId();
    const back = live([A.url], { from: last });
    await back.opened();
    await eventually(async () => back.lastId(), (id) => id >= until, 'the missed events replayed', 30_000, 50);
    const missed = back.events.filter((e) => e.id <= until);
    expect(missed).toEqual(onA.events.filter((e) => e.id > last && e.id <= until));
    expect(missed.filter((e) => e.event_type === 'process_stopped').map((e) => e.agent_id).sort()).toEqual([...wifi].sort());
    expect(back.controls.map((m) => m.message.type)).toEqual(['hello']);

    // Running again for the scenarios that follow (through B this time).
    for (const id of wifi) expect((await B.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    for (const id of wifi) await waitRunning(A, id, `${id} running again`);
    await assertInvariants(t0, 'exact');
    timings.push(['replicas', Date.now() - t0]);
  });
});
