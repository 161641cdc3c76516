// Issue 14's cluster on one machine (test/cluster/harness.ts): PostgreSQL, a 3-node NATS cluster,
// API replicas A and B and the supervisors of hosts h1 and h2, each its own process of the built
// server, with the sample agents running on both hosts. The scenarios run one after the other on
// the same cluster; after each one, no agent has ever had two processes (the process table is
// sampled every 250 ms from the start), the live events a WebSocket client received (moving to
// the other replica whenever its own went away) are exactly the status history, and every
// heartbeat and metrics message the agents published was written once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { eventually } from '../helpers/wait.js';
import { SINGLETON_KEYS } from '../../server/db/singleton-lock.js';
import { RETENTION_LOCK_KEY } from '../../server/monitoring/retention.js';
import { apiClient, login } from '../helpers/ams.js';
import { COUNTER } from './heartbeats.js';
import { advisoryHolders, compareWithHistory, diffIsEmpty, heartbeatWindow, historyOf, TRANSITION_EVENTS, type EventDiff } from './checks.js';
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
    // The diff says what is wrong better than the timeout does; with what the replicas say of their event streams.
    const streams = await Promise.all(c.api.map(async (r) => [r.name, (await r.anon.get('/api/v1/health').catch(() => undefined))?.body?.components?.events]));
    const outbox = await c.query('SELECT count(*)::int AS n FROM event_outbox').catch((err) => (err as Error).message);
    console.log(`live events do not match the history: witness on ${c.witness.url()} at ${c.witness.lastId()}; event streams ${JSON.stringify(streams)}; outbox ${JSON.stringify(outbox)}`);
  }
  expect(diff).toEqual({ missing: [], extra: [], duplicateIds: [], outOfOrder: [], resyncs: [] });

  // The window ends a little in the past, so that what was received then has been flushed; it
  // lasts until every agent has published a few times in it.
  const from = c.heartbeats.quietPoint(since);
  await eventually(
    async () => c.heartbeats.countsBetween(from, c.heartbeats.quietPoint(Date.now() - 3000)),
    (seen) => ids.every((id) => (seen.get(id) ?? 0) >= 4),
    'a few heartbeats of every agent in the window',
    60_000,
    250,
  );
  const window = await heartbeatWindow(c, from, c.heartbeats.quietPoint(Date.now() - 3000));
  expect(window.seen, `heartbeats seen ${JSON.stringify(window)}`).toBeGreaterThan(0);
  const matched = (await historyOf(c, ids)).length;
  console.log(`invariants: ${c.sampler.count()} process samples, ${c.witness.events.length} live events against ${matched} history rows, heartbeats ${window.from}..${window.to}: ${window.seen} seen, ${window.written} written`);
  for (const [agent, [seen, written]] of Object.entries(window.perAgent)) {
    if (heartbeats === 'exact' ? written !== seen : written > seen) console.log(`heartbeats of ${agent} unmatched: ${JSON.stringify(await unmatchedHeartbeats(agent, Date.parse(window.from), Date.parse(window.to)))}`);
    if (heartbeats === 'exact') expect(written, `rows of ${agent} in ${window.from}..${window.to}`).toBe(seen);
    else expect(written, `rows of ${agent} in ${window.from}..${window.to}`).toBeLessThanOrEqual(seen);
  }
}

/** Rows of the counter and messages seen of one agent that do not pair up (each paired with the nearest within 1 s), for a failure's message. */
async function unmatchedHeartbeats(agent: string, from: number, to: number) {
  const rows = (await c.query<{ timestamp: Date; value: number }>('SELECT timestamp, value FROM agent_metrics WHERE name = $1 AND agent_id = $2 AND timestamp >= $3 AND timestamp < $4 ORDER BY timestamp', [COUNTER, agent, new Date(from), new Date(to)])).map((r) => ({ at: r.timestamp.getTime(), value: Number(r.value) }));
  const seen = c.heartbeats.seen.filter((x) => x.agentId === agent && x.at >= from && x.at < to).map((x) => ({ at: x.at, kind: x.kind, used: false }));
  const rowsAlone: Array<{ at: string; value: number }> = [];
  for (const r of rows) {
    const m = seen.filter((x) => !x.used && Math.abs(x.at - r.at) <= 1000).sort((x, y) => Math.abs(x.at - r.at) - Math.abs(y.at - r.at))[0];
    if (m) m.used = true;
    else rowsAlone.push({ at: new Date(r.at).toISOString(), value: r.value });
  }
  return { rowsAlone, seenAlone: seen.filter((x) => !x.used).map((x) => `${new Date(x.at).toISOString()} ${x.kind}`) };
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

    // The cluster's streams and buckets, made by whoever came first, are replicated on all three nodes.
    const jsm = await jetstreamManager(c.heartbeats.connection, { timeout: 10_000 });
    for (const stream of ['OPMAS_EVENTS', 'OPMAS_OBSERVATIONS', 'KV_OPMAS_HOST_LEASES', 'KV_OPMAS_HOST_EPOCHS']) {
      expect((await jsm.streams.info(stream)).config.num_replicas, stream).toBe(3);
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

type Outcome = { n: number; replica: string; agent: string; action: string; requestId: string; status: number | 'network_error'; code?: string };

/** An operator action through one replica, tagged with its own request id (the history row's correlation_id). */
async function act(r: ApiReplica, agent: string, action: 'start' | 'stop' | 'restart', n: number, run: string): Promise<Outcome> {
  const requestId = `${run}-${n}`;
  try {
    const res = await r.api.raw(`/api/v1/agents/${agent}/${action}`, { method: 'POST', headers: { 'X-Request-Id': requestId }, signal: AbortSignal.timeout(20_000) });
    return { n, replica: r.name, agent, action, requestId, status: res.status, code: (res.body as any)?.error?.code };
  } catch {
    return { n, replica: r.name, agent, action, requestId, status: 'network_error' };
  }
}

/** Kills one running agent process (a crash its supervisor recovers); answers the pid, if one ran. */
function crash(agent: string): number | undefined {
  const pid = c.sampler.sampleNow().pids.get(agent)?.[0];
  if (pid) process.kill(pid, 'SIGKILL');
  return pid;
}

/** Each agent's process transitions in the order recorded chain up: every step starts where the one before ended. */
async function assertHistoryChains(ids: string[]) {
  const rows = (await historyOf(c, ids)).filter((r) => TRANSITION_EVENTS.has(r.event_type));
  const breaks: string[] = [];
  for (const id of ids) {
    let to: string | null | undefined;
    for (const r of rows.filter((x) => x.agent_id === id)) {
      if (to !== undefined && r.from_status !== to) breaks.push(`${id} #${r.id} ${r.event_type} from ${r.from_status} after a step to ${to}`);
      to = r.to_status;
    }
  }
  expect(breaks).toEqual([]);
}

/** Waits until every agent is where its desired state says (running, or at rest with no process), then starts those at rest. */
async function settleAllRunning(via: ApiReplica) {
  const ids = c.allAgentIds();
  for (const id of ids) {
    const t = Date.now();
    try {
      await eventually(
        async () => ({ agent: (await via.api.get(`/api/v1/agents/${id}`)).body, status: (await statusOf(via, id)).body }),
        // Should not run: at rest (stopped, or failed when it crashed just before the stop reached its host) with no process.
        ({ agent, status }) =>
          agent.desired_state === 'running' ? status.process_status === 'running' : ['stopped', 'failed'].includes(status.process_status) && c.sampler.pidsOf(id).length === 0,
        `${id} settled at its desired state`,
        90_000,
        250,
      );
    } catch (err) {
      const tail = (await historyOf(c, [id])).slice(-20).map((r) => `${r.created_at.toISOString()} ${r.event_type} ${r.from_status}->${r.to_status} ${JSON.stringify(r.details)}`);
      throw new Error(`${(err as Error).message}\nhistory:\n${tail.join('\n')}\nprocesses: ${JSON.stringify(c.sampler.pidsOf(id))}`);
    }
    if (Date.now() - t > 5000) {
      const tail = (await historyOf(c, [id])).slice(-14).map((r) => `${r.created_at.toISOString()} ${r.event_type} ${r.from_status}->${r.to_status} ${JSON.stringify(r.details).slice(0, 200)}`);
      console.log(`settle: ${id} took ${Date.now() - t} ms (settle began ${new Date(t).toISOString()})\n${tail.join('\n')}`);
    }
  }
  for (const id of ids) {
    if (['stopped', 'failed'].includes((await statusOf(via, id)).body.process_status)) expect((await via.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
  }
  for (const id of ids) await waitRunning(via, id, `${id} running`, 90_000);
}

describe('an API replica killed during a burst', () => {
  it('answers every operator action with an error or carries it out, and the history is complete, when replica A is SIGKILLed amid actions and agent crashes', async () => {
    const t0 = Date.now();
    const ids = c.allAgentIds();
    const actions = ['restart', 'stop', 'start', 'restart'] as const;
    const outcomes: Outcome[] = [];
    const crashed: number[] = [];
    const witnessBefore = c.witness.connections.length;
    let n = 0;
    const round = async () => {
      for (const id of ids) {
        const r = c.api[n % 2];
        outcomes.push(await act(r, id, actions[Math.floor(n / ids.length) % actions.length], n, 'burst'));
        n += 1;
        if (n % 3 === 0) {
          const pid = crash(ids[(n / 3) % ids.length]);
          if (pid) crashed.push(pid);
        }
      }
    };
    await round();
    await round();
    // Actions in flight on A when it is killed.
    const inFlight = ids.map((id) => act(A, id, 'restart', n++, 'burst'));
    await A.proc.kill9();
    try {
      outcomes.push(...(await Promise.all(inFlight)));
      await round();
      await round();
    } finally {
      // A comes back on the same address (systemd's Restart=on-failure).
      await A.proc.start();
    }

    const tally = outcomes.reduce<Record<string, number>>((m, o) => ((m[`${o.replica}:${o.status}`] = (m[`${o.replica}:${o.status}`] ?? 0) + 1), m), {});
    console.log(`burst: ${outcomes.length} actions (${JSON.stringify(tally)}), ${crashed.length} agent crashes`);
    expect(crashed.length).toBeGreaterThan(0);
    expect(outcomes.some((o) => o.replica === 'A' && o.status === 'network_error')).toBe(true);
    expect(outcomes.filter((o) => o.status === 202).length).toBeGreaterThan(0);
    // Nothing else: carried out (202), refused with a reason (4xx), or no answer from a dead replica.
    for (const o of outcomes) expect([202, 409, 'network_error'], JSON.stringify(o)).toContain(o.status);
    for (const o of outcomes.filter((x) => x.status === 409)) expect(o.code, JSON.stringify(o)).toBe('invalid_transition');

    const recorded = new Set(
      (await c.query<{ cid: string }>(`SELECT details->>'correlation_id' AS cid FROM agent_status_history WHERE details->>'correlation_id' LIKE 'burst-%'`)).map((r) => r.cid),
    );
    for (const o of outcomes) {
      if (o.status === 202) expect(recorded.has(o.requestId), `${JSON.stringify(o)} answered 202 but is not in the history`).toBe(true);
      else if (o.status !== 'network_error') expect(recorded.has(o.requestId), `${JSON.stringify(o)} was refused but is in the history`).toBe(false);
    }
    // The witness, whose replica was killed, went on through the other one with its last id.
    expect(c.witness.connections.slice(witnessBefore).some((x) => x.url === B.url && x.lastEventId !== null)).toBe(true);

    await settleAllRunning(B);
    await assertHistoryChains(ids);
    await assertInvariants(t0, 'at-most-once');
    timings.push(['API replica killed', Date.now() - t0]);
  });
});

/** Every alert (all pages), newest first; `query` filters (`rule=host_down`). */
async function alerts(via: ApiReplica, query = ''): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const res: any = await via.api.get(`/api/v1/alerts?limit=500${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    out.push(...res.body.items);
    cursor = res.body.next_cursor;
  } while (cursor);
  return out;
}

/** The host_down alerts about `hostId` since `since` (raised by the alert engine when a host's supervisor lease expires). */
const hostDownAlerts = async (via: ApiReplica, hostId: string, since: number) =>
  (await alerts(via, 'rule=host_down')).filter((a) => a.host_id === hostId && Date.parse(a.first_seen_at) >= since - 1000);

describe('a supervisor killed', () => {
  let killedAt = 0;
  it('marks its host down; its agents keep running and are adopted, not started again, when it returns with a new epoch', async () => {
    const t0 = Date.now();
    killedAt = t0;
    const h1 = c.hosts.find((h) => h.hostId === 'h1')!;
    const mine = Object.values(c.agents.h1);
    const others = Object.values(c.agents.h2);
    const epoch = h1.proc.ready()!.epoch!;
    const pids = new Map(mine.map((id) => [id, c.sampler.pidsOf(id)]));
    for (const id of mine) expect(pids.get(id), id).toHaveLength(1);

    await h1.proc.kill9();
    // Down once its lease expires, seen through either replica; its agents' health unknown, saying why.
    await eventually(() => A.api.get('/api/v1/hosts/h1'), (r) => r.body?.status === 'down', 'host h1 down', 60_000, 250);
    expect((await B.api.get('/api/v1/hosts/h2')).body.status).toBe('up');
    for (const id of mine) {
      const health = await eventually(() => B.api.get(`/api/v1/agents/${id}/health`), (r) => r.body?.health === 'unknown', `${id} health unknown`, 30_000, 250);
      expect(JSON.stringify(health.body.reasons)).toContain('h1');
    }
    // Its agents run on, alone: they are the supervisor's children by adoption only.
    for (const id of mine) expect(c.sampler.sampleNow().pids.get(id), id).toEqual(pids.get(id));

    // It comes back on the same data dir: the next epoch, the same processes adopted.
    const ready = await h1.proc.start();
    expect(ready.epoch).toBeGreaterThan(epoch);
    await eventually(() => A.api.get('/api/v1/hosts/h1'), (r) => r.body?.status === 'up' && r.body.epoch === ready.epoch, 'host h1 up with the new epoch', 60_000, 250);
    const adoptedSince = new Date(t0);
    for (const id of mine) {
      const status = await waitRunning(B, id, `${id} running and healthy after the adoption`);
      expect(status.pid).toBe(pids.get(id)![0]);
      expect(status.adopted).toBe(true);
      const adopted = (await historyOf(c, [id])).filter((r) => r.event_type === 'adopted' && r.created_at >= adoptedSince);
      expect(adopted, `${id} adopted once`).toHaveLength(1);
      expect(adopted[0].details).toMatchObject({ pid: pids.get(id)![0] });
      // Never started again: no process_started since the kill.
      const started = (await historyOf(c, [id])).filter((r) => r.event_type === 'process_started' && r.created_at >= adoptedSince);
      expect(started, `${id} started again`).toEqual([]);
    }
    for (const id of mine) expect(c.sampler.everPids(id).filter((p) => !pids.get(id)!.includes(p) && c.sampler.pidsOf(id).includes(p))).toEqual([]);
    // The other host saw nothing of it.
    for (const id of others) expect((await statusOf(A, id)).body.process_status).toBe('running');
    await assertInvariants(t0, 'exact');
    timings.push(['supervisor killed', Date.now() - t0]);
  });

  it('raised exactly one host_down alert for that host (the alert engine, on whichever replica holds it), resolved when the host came back, and none for the other host', async () => {
    expect(killedAt).toBeGreaterThan(0);
    // The host is up again (the scenario above): the one alert is resolved by the host.up event.
    const list = await eventually(() => hostDownAlerts(B, 'h1', killedAt), (l) => l.length >= 1 && l.every((a) => a.status === 'resolved'), 'the host_down alert of h1, resolved', 30_000, 500);
    expect(list, JSON.stringify(list)).toHaveLength(1);
    expect(list[0]).toMatchObject({ rule: 'host_down', severity: 'critical', agent_id: null, host_id: 'h1', status: 'resolved' });
    expect(list[0].count, JSON.stringify(list[0])).toBe(1);
    expect(await hostDownAlerts(A, 'h1', killedAt)).toEqual(list);
    expect(await hostDownAlerts(A, 'h2', killedAt)).toEqual([]);
  });
});

/** Names of the client connections on the given NATS nodes (the monitoring endpoint's /connz). */
async function clientNames(nodes: number[]): Promise<string[]> {
  const names: string[] = [];
  for (const i of nodes) {
    const res = await fetch(`${c.nats.monitorUrl(i)}/connz?limit=4096`);
    if (!res.ok) throw new Error(`connz of node ${i}: ${res.status}`);
    for (const conn of ((await res.json()) as { connections?: Array<{ name?: string }> }).connections ?? []) names.push(conn.name ?? '');
  }
  return names.sort();
}

/** Restarts one agent through `via` and waits until a new process of it runs and is healthy. */
async function restartAndWait(via: ApiReplica, id: string, what: string) {
  const before = (await statusOf(via, id)).body.pid;
  const res = await via.api.post(`/api/v1/agents/${id}/restart`);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  await eventually(() => statusOf(via, id), (s) => s.body.process_status === 'running' && s.body.health_status === 'healthy' && s.body.pid !== before, what, 90_000, 250);
}

/** Per NATS node (by index): the replicas' readers of OPMAS_EVENTS (ordered consumers, one replica each) it holds, and the stream and consumer leaders it is. */
async function jetStreamPlacement(): Promise<Map<number, { eventReaders: number; leaders: number }>> {
  const jsm = await jetstreamManager(c.heartbeats.connection, { timeout: 10_000 });
  const out = new Map<number, { eventReaders: number; leaders: number }>();
  const nodeOf = (server?: string) => (server ? Number(/-(\d+)$/.exec(server)?.[1]) : undefined);
  const add = (server: string | undefined, what: 'eventReaders' | 'leaders') => {
    const i = nodeOf(server);
    if (!i) return;
    const e = out.get(i) ?? { eventReaders: 0, leaders: 0 };
    e[what] += 1;
    out.set(i, e);
  };
  for await (const stream of jsm.streams.list()) {
    add(stream.cluster?.leader, 'leaders');
    for await (const consumer of jsm.consumers.list(stream.config.name)) {
      add(consumer.cluster?.leader, stream.config.name === 'OPMAS_EVENTS' && !consumer.config.durable_name ? 'eventReaders' : 'leaders');
    }
  }
  return out;
}

describe('a NATS node killed', () => {
  it('lets every client reconnect to the other nodes; operator actions, observations, heartbeats and live events go on, nothing lost', async () => {
    const t0 = Date.now();
    const all = [1, 2, 3];
    const names = await clientNames(all);
    expect(names.filter((n) => n === 'opmas-ams').length).toBeGreaterThanOrEqual(2);
    for (const h of c.hosts) expect(names).toContain(`opmas-supervisor-${h.hostId}`);
    // The node that matters most (not the heartbeat observer's): the one holding the replicas'
    // event stream readers, then the most JetStream leaders, then the most clients.
    const placement = await jetStreamPlacement();
    const candidates = all.filter((i) => i !== c.observerNode);
    const score = async (i: number) => (placement.get(i)?.eventReaders ?? 0) * 1000 + (placement.get(i)?.leaders ?? 0) * 100 + (await clientNames([i])).length;
    const scores = await Promise.all(candidates.map(score));
    const victim = candidates[scores.indexOf(Math.max(...scores))];
    console.log(`NATS node ${victim} killed (${JSON.stringify(Object.fromEntries(placement))})`);

    // A WebSocket on each replica, to see the live events go on while the node is away.
    const sockets = [live([A.url]), live([B.url])];
    await Promise.all(sockets.map((s) => s.opened()));

    await c.nats.killNode(victim);
    const killedAt = Date.now();
    const survivors = all.filter((i) => i !== victim);
    // Every client that was on it is back, on another node.
    await eventually(() => clientNames(survivors), (now) => JSON.stringify(now) === JSON.stringify(names), 'every client reconnected to the surviving nodes', 60_000, 500);
    // The control plane works on: a restart through each replica, one agent per host.
    await restartAndWait(A, c.agents.h1.security, 'h1 security restarted through A after the node died');
    await restartAndWait(B, c.agents.h2.security, 'h2 security restarted through B after the node died');
    // Both replicas' sockets get both restarts, the node still down (each replica reads the stream on through the nodes left).
    for (const [i, socket] of sockets.entries()) {
      for (const id of [c.agents.h1.security, c.agents.h2.security]) {
        await socket.waitForEvent((e) => e.type === 'status.changed' && e.agent_id === id && e.event_type === 'process_started', `the restart of ${id} on ${c.api[i].name}'s socket with the node down`, 45_000);
      }
    }
    expect(c.nats.node(victim)).toBeUndefined();
    // Every agent's heartbeats reach the control plane again.
    await eventually(async () => c.heartbeats.countsBetween(killedAt + 1000, Date.now()), (m) => c.allAgentIds().every((id) => (m.get(id) ?? 0) >= 2), 'heartbeats of every agent after the node died', 60_000, 250);
    for (const id of c.allAgentIds()) await waitRunning(A, id, `${id} running and healthy after the node died`);

    c.nats.startNode(victim);
    await c.nats.waitForMetaLeader(60_000);
    // The supervisors renewed their leases throughout: no host was called down.
    for (const h of c.hosts) expect(await hostDownAlerts(A, h.hostId, t0), `host_down alerts of ${h.hostId}`).toEqual([]);
    await assertInvariants(t0, 'at-most-once');
    timings.push(['NATS node killed', Date.now() - t0]);
  });
});

describe('PostgreSQL stopped under load', () => {
  it('answers 503 while it is away, and applies everything after: a crash the host recovered meanwhile, heartbeats, live events; refused actions never happen', async () => {
    const t0 = Date.now();
    const victim = c.agents.h2.wifi;
    const oldPid = c.sampler.pidsOf(victim)[0];
    expect(oldPid).toBeGreaterThan(0);
    const during: Array<{ replica: string; path: string; status: number | 'network_error'; code?: string }> = [];
    const refused: Outcome[] = [];
    const state: { phase: 'before' | 'during' | 'after'; stop: boolean } = { phase: 'before', stop: false };
    // Reads and operator actions through both replicas, the whole time.
    const load = (async () => {
      let n = 0;
      while (!state.stop) {
        const r = c.api[n % 2];
        const started = state.phase;
        if (n % 5 === 4) {
          const o = await act(r, c.agents.h1.wifi, 'restart', n, 'outage');
          if (started === 'during' && state.phase === 'during') refused.push(o);
        } else {
          const p = ['/api/v1/agents', `/api/v1/agents/${victim}/status`, '/api/v1/hosts', '/api/v1/alerts'][n % 4];
          let status: number | 'network_error';
          let code: string | undefined;
          try {
            const res = await r.api.raw(p, { method: 'GET', signal: AbortSignal.timeout(20_000) });
            status = res.status;
            code = (res.body as any)?.error?.code;
          } catch {
            status = 'network_error';
          }
          if (started === 'during' && state.phase === 'during') during.push({ replica: r.name, path: p, status, code });
        }
        n += 1;
        await new Promise((res) => setTimeout(res, 100));
      }
    })();

    await c.haltDatabase();
    state.phase = 'during';
    const haltedAt = Date.now();
    // The host goes on without the database: a crash is recovered on the spot.
    process.kill(oldPid, 'SIGKILL');
    await eventually(async () => c.sampler.sampleNow().pids.get(victim) ?? [], (p) => p.length === 1 && p[0] !== oldPid, 'the crashed agent restarted by its host', 30_000, 100);
    const health = await A.anon.get('/api/v1/health');
    expect(health.status).toBe(503);
    expect(health.body.components.database.status).toBe('down');
    // Away for 20 s (a duration of the fault, not a condition checked).
    await eventually(async () => Date.now() - haltedAt, (ms) => ms >= 20_000, 'twenty seconds of outage', 30_000, 250);
    state.phase = 'after';
    await c.resumeDatabase();
    for (const r of c.api) await eventually(() => r.api.get('/api/v1/agents'), (res) => res.status === 200, `replica ${r.name} answering again`, 60_000, 250);
    state.stop = true;
    await load;

    expect(during.length).toBeGreaterThan(10);
    for (const d of during) expect(d, JSON.stringify(d)).toMatchObject({ status: 503, code: 'database_unavailable' });
    expect(refused.length).toBeGreaterThan(0);
    for (const o of refused) expect(o, JSON.stringify(o)).toMatchObject({ status: 503 });
    const recorded = await c.query<{ cid: string }>(`SELECT details->>'correlation_id' AS cid FROM agent_status_history WHERE details->>'correlation_id' = ANY($1)`, [refused.map((o) => o.requestId)]);
    expect(recorded).toEqual([]);

    // What the host saw meanwhile is applied once the database is back, in order.
    const newPid = c.sampler.pidsOf(victim)[0];
    await eventually(() => statusOf(B, victim), (s) => s.body.pid === newPid && s.body.process_status === 'running', 'the restart applied', 60_000, 250);
    const rows = (await historyOf(c, [victim])).filter((r) => r.created_at.getTime() >= haltedAt - 1000);
    const exited = rows.findIndex((r) => r.event_type === 'process_exited' && r.details.pid === oldPid);
    const started = rows.findIndex((r) => r.event_type === 'process_started' && r.details.pid === newPid);
    expect(exited, JSON.stringify(rows)).toBeGreaterThanOrEqual(0);
    expect(started).toBeGreaterThan(exited);
    await settleAllRunning(A);
    await assertHistoryChains(c.allAgentIds());
    await assertInvariants(t0, 'exact');
    timings.push(['PostgreSQL stopped', Date.now() - t0]);
  });
});

/** The singletons held by one replica for as long as it runs (a session advisory lock each; the alert engine's key is `alertSweep`). */
const LOCKED_WORK = {
  observationApplier: SINGLETON_KEYS.observationApplier,
  hostMonitor: SINGLETON_KEYS.hostMonitor,
  outboxPublisher: SINGLETON_KEYS.outboxPublisher,
  alertEngine: SINGLETON_KEYS.alertSweep,
  externalHealth: SINGLETON_KEYS.externalHealth,
};
/** Held for one transaction at a time (the push of agent credential revocations) or one run (retention, metric rollups): sampled for a single holder too. */
const BRIEF_LOCKS = { revocationPush: SINGLETON_KEYS.revocationPush, retention: RETENTION_LOCK_KEY, metricRollups: SINGLETON_KEYS.metricRollups };

describe('singleton work under advisory locks', () => {
  it('has one holder of each lock at a time (pg_locks, and one replica acting), and fails over to the other replica when the holder is SIGKILLed', async () => {
    const t0 = Date.now();
    // Every singleton of the AMS is one of these (a new one must be added here).
    expect(Object.values(SINGLETON_KEYS).filter((k) => !Object.values({ ...LOCKED_WORK, ...BRIEF_LOCKS }).includes(k))).toEqual([]);
    const keys = [...Object.values(LOCKED_WORK), ...Object.values(BRIEF_LOCKS)];
    const name = (key: number) => Object.entries({ ...LOCKED_WORK, ...BRIEF_LOCKS }).find(([, k]) => k === key)?.[0] ?? String(key);
    const samples: Array<{ holders: Record<string, string[]>; publishing: string[]; applying: string[] }> = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const holders: Record<string, string[]> = {};
          for (const h of await advisoryHolders(c, keys)) (holders[name(h.key)] ??= []).push(h.replica ?? `backend ${h.backendPid}`);
          const health = await Promise.all(c.api.map(async (r) => [r.name, r.proc.running() ? (await r.anon.get('/api/v1/health').catch(() => undefined))?.body?.components : undefined] as const));
          samples.push({
            holders,
            publishing: health.filter(([, h]) => h?.events?.publishing === true).map(([n]) => n),
            applying: health.filter(([, h]) => h?.observations?.holding === true).map(([n]) => n),
          });
        } catch {
          // a sample that could not be taken proves nothing either way
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const holdersBy = async () => {
      const map = new Map<string, string | undefined>();
      for (const h of await advisoryHolders(c, Object.values(LOCKED_WORK))) map.set(name(h.key), h.replica);
      return map;
    };
    try {
      const before = await eventually(holdersBy, (m) => Object.keys(LOCKED_WORK).every((k) => m.get(k) === 'A' || m.get(k) === 'B'), 'every singleton held by a replica', 30_000, 250);
      const victim = c.api.find((r) => r.name === before.get('outboxPublisher'))!;
      const survivor = c.api.find((r) => r !== victim)!;

      await victim.proc.kill9();
      // Its sessions end with it; the other replica takes every lock it held.
      const after = await eventually(holdersBy, (m) => Object.keys(LOCKED_WORK).every((k) => m.get(k) === survivor.name), `every singleton held by ${survivor.name}`, 60_000, 250);
      expect(Object.fromEntries(after)).toEqual(Object.fromEntries(Object.keys(LOCKED_WORK).map((k) => [k, survivor.name])));
      // And does the work: an agent restarted through it is applied (observations) and published (events).
      await restartAndWait(survivor, c.agents.h2.wifi, `h2 wifi restarted through ${survivor.name} after the holder died`);
      await c.witness.waitForEvent((e) => e.type === 'status.changed' && e.agent_id === c.agents.h2.wifi && e.event_type === 'process_started' && Date.parse(e.time) >= t0, 'the restart on the live stream');
      // The alert engine goes on there: an agent crash raises agent_failed, resolved once its host restarted it.
      const crashedAt = Date.now();
      const victimAgent = c.agents.h2.security;
      expect(crash(victimAgent)).toBeGreaterThan(0);
      const failed = await eventually(
        async () => (await alerts(survivor, `rule=agent_failed&agent_id=${victimAgent}`)).filter((a) => Date.parse(a.last_seen_at) >= crashedAt - 1000),
        (l) => l.length === 1 && l[0].status === 'resolved',
        `an agent_failed alert for ${victimAgent} raised and resolved by the engine on ${survivor.name}`,
        60_000,
        250,
      );
      expect(failed[0].details).toMatchObject({ event_type: 'process_exited' });
      await waitRunning(survivor, victimAgent, `${victimAgent} running again after its crash`);

      // The killed replica comes back and takes nothing the survivor holds.
      await victim.proc.start();
      expect(Object.fromEntries(await holdersBy())).toEqual(Object.fromEntries(Object.keys(LOCKED_WORK).map((k) => [k, survivor.name])));
    } finally {
      sampling = false;
      await sampler;
    }
    expect(samples.length).toBeGreaterThan(4);
    for (const s of samples) {
      for (const [k, list] of Object.entries(s.holders)) expect(list, `holders of ${k}`).toHaveLength(1);
      expect(s.publishing.length, JSON.stringify(s)).toBeLessThanOrEqual(1);
      expect(s.applying.length, JSON.stringify(s)).toBeLessThanOrEqual(1);
    }
    await assertInvariants(t0, 'at-most-once');
    timings.push(['lock holder killed', Date.now() - t0]);
  });

});

describe('security state shared by the replicas', () => {
  it('counts bad logins for the cluster: the 11th in a minute is 429 whichever replica answers', async () => {
    const t0 = Date.now();
    // Each request as the same client behind the load balancer (X-Forwarded-For, trusted from 127.0.0.1).
    const client = { 'X-Forwarded-For': '198.51.100.77' };
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await c.api[i % 2].anon.post('/api/v1/auth/login', { username: `nobody-${i}`, password: 'wrong-password' }, client)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    for (const r of c.api) {
      const res = await r.anon.post('/api/v1/auth/login', { username: 'nobody-11', password: 'wrong-password' }, client);
      expect(res.status, `11th bad login on ${r.name}`).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another client is not limited.
    expect((await B.anon.post('/api/v1/auth/login', { username: 'nobody', password: 'wrong-password' }, { 'X-Forwarded-For': '198.51.100.78' })).status).toBe(401);
    timings.push(['rate limits', Date.now() - t0]);
  });

  it('refuses on B a token logged out on A (within the revocation cache\'s 2 s, measured and printed)', async () => {
    const session = await login(A.url, 'admin', c.adminPassword);
    const onB = apiClient(B.url, session.access_token);
    expect((await onB.get('/api/v1/auth/me')).status).toBe(200);
    const loggedOut = Date.now();
    expect((await apiClient(A.url, session.access_token).post('/api/v1/auth/logout', {})).status).toBe(204);
    const refused = await eventually(() => onB.get('/api/v1/auth/me'), (r) => r.status !== 200, 'B to refuse the logged-out token', 15_000, 50);
    console.log(`token revocation: refused on B ${Date.now() - loggedOut} ms after the logout on A`);
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).toContain('revoked');
    // The other sessions of the same user are not touched.
    expect((await B.api.get('/api/v1/auth/me')).status).toBe(200);
  });

  it('leaves every invariant intact at the end of the run', async () => {
    await assertInvariants(c.heartbeats.seen[0]?.at ?? 0, 'at-most-once');
    // Every agent ran, and none ever ran twice.
    expect(c.sampler.agents().sort()).toEqual(c.allAgentIds().sort());
    expect(c.sampler.violations()).toEqual([]);
  });
});
