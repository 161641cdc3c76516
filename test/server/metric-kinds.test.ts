// Metric kinds and the series the supervisor measures: what an agent declares in its metrics
// message's `meta` is stored once per change and decides how its numbers are answered
// (counters as per-second rates, with units in the answer's `meta`); the ping round trip and
// the heartbeat delay of a supervised sample agent are stored and served as series.
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../server/broker/index.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { eventually } from '../helpers/wait.js';
import { SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';

let t: TestAms;
const open: NatsConnection[] = [];
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await t?.stop();
});

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

async function agentConnection() {
  const agent = await createAgent(t.api);
  const nc = await connectWithCreds(agent.nats!.url, agent.nats!.creds, { inboxPrefix: subjects.agent(agent.id).inboxPrefix, maxReconnectAttempts: 0 });
  open.push(nc);
  return { id: agent.id, nc, s: subjects.agent(agent.id) };
}

const kindsOf = (agentId: string) =>
  t.ams.db.knex('agent_metric_kinds').where('agent_id', agentId).orderBy('name').select('name', 'kind', 'unit', 'updated_at');

describe('declared metric kinds', () => {
  it('are stored from the metrics message, rewritten only when they change, and decide how the numbers are answered', async () => {
    const { id, nc, s } = await agentConnection();
    const meta = { findings: { kind: 'counter', unit: 'findings' }, queue_depth: { kind: 'gauge', unit: 'items' } };
    const t0 = Date.now();
    // Three reports: findings rises by 10 per report, queue_depth is a gauge, temperature is undeclared.
    for (let i = 0; i < 3; i++) {
      nc.publish(s.metrics, json({ events_processed: 0, events_failed: 0, processing_ms: 0, findings: 10 * i, queue_depth: 4 + i, temperature: 40, meta }));
      await nc.flush();
      await eventually(() => t.ams.db.knex('agent_metrics').where({ agent_id: id, name: 'findings' }).count({ n: '*' }).first(), (r) => Number(r?.n) === i + 1, `report ${i + 1} stored`);
      if (i < 2) await new Promise((r) => setTimeout(r, 1100)); // reports a second apart, for a rate
    }
    const stored = await kindsOf(id);
    expect(stored.map(({ updated_at: _, ...r }) => r)).toEqual([
      { name: 'findings', kind: 'counter', unit: 'findings' },
      { name: 'queue_depth', kind: 'gauge', unit: 'items' },
    ]);
    // The same declaration again and again wrote nothing.
    const firstWrite = stored.map((r) => new Date(r.updated_at).getTime());
    expect(firstWrite[0]).toBe(firstWrite[1]);

    const res = await t.api.get(`/api/v1/agents/${id}/metrics?from=${t0 - 60_000}&to=${Date.now() + 60_000}&step=600&names=findings,queue_depth,temperature,cpu_percent,events_processed,error_rate`);
    expect(res.status).toBe(200);
    const value = (name: string) => res.body[name].find((v: number | null) => v !== null);
    // 20 findings over the ~2.2 s between the first and last report: a rate of a few per second, never the raw 20.
    expect(value('findings')).toBeGreaterThan(20 / 5);
    expect(value('findings')).toBeLessThan(20 / 1.5);
    expect(value('queue_depth')).toBe(5);
    expect(value('temperature')).toBe(40);
    expect(res.body.meta).toEqual({
      findings: { kind: 'counter', unit: 'findings' },
      queue_depth: { kind: 'gauge', unit: 'items' },
      temperature: { kind: 'gauge', unit: null },
      cpu_percent: { kind: 'gauge', unit: '%' },
      events_processed: { kind: 'counter', unit: 'events' },
      error_rate: { kind: 'gauge', unit: 'ratio' },
    });

    // A changed declaration is stored: queue_depth becomes a counter in its new unit.
    nc.publish(s.metrics, json({ events_processed: 0, events_failed: 0, processing_ms: 0, meta: { ...meta, queue_depth: { kind: 'counter', unit: 'jobs' } } }));
    await nc.flush();
    const changed = await eventually(() => kindsOf(id), (rows) => rows.some((r) => r.name === 'queue_depth' && r.kind === 'counter'), 'the new declaration stored');
    expect(changed.find((r) => r.name === 'queue_depth')).toMatchObject({ unit: 'jobs' });
    expect(new Date(changed.find((r) => r.name === 'findings')!.updated_at).getTime()).toBe(firstWrite[0]);
  });

  it('answers every series without names with its meta, and a declaration cannot turn a built-in series into another kind', async () => {
    const { id, nc, s } = await agentConnection();
    nc.publish(s.metrics, json({ events_processed: 5, events_failed: 1, processing_ms: 3, backlog: 2, meta: { events_processed: { kind: 'gauge', unit: 'x' }, backlog: { kind: 'gauge' } } }));
    nc.publish(s.heartbeat, json({ agent_id: id, status: 'ready', timestamp: new Date(Date.now() - 250).toISOString(), uptime: 1 }));
    await nc.flush();
    await eventually(() => kindsOf(id), (rows) => rows.length === 2, 'the declaration stored');
    const res = await eventually(
      () => t.api.get(`/api/v1/agents/${id}/metrics?from=${Date.now() - 60_000}&to=${Date.now() + 60_000}&step=600`),
      (r) => r.status === 200 && 'heartbeat_latency_ms' in r.body,
      'the heartbeat delay answered',
    );
    const series = Object.keys(res.body).filter((k) => !['agent_id', 'from', 'to', 'step', 't', 'meta'].includes(k)).sort();
    expect(Object.keys(res.body.meta).sort()).toEqual(series);
    expect(res.body.meta.events_processed).toEqual({ kind: 'counter', unit: 'events' });
    expect(res.body.meta.backlog).toEqual({ kind: 'gauge', unit: null });
    expect(res.body.meta.heartbeat_latency_ms).toEqual({ kind: 'gauge', unit: 'ms' });
    // Sent with a timestamp 250 ms old: it arrived at least that late.
    expect(res.body.heartbeat_latency_ms.find((v: number | null) => v !== null)).toBeGreaterThanOrEqual(250);
  });

  it('drops a metrics message whose declaration is malformed, and counts it', async () => {
    const { id, nc, s } = await agentConnection();
    const before = t.ams.broker.health();
    const droppedBefore = ((await before).dropped_messages as Record<string, number> | undefined)?.bad_shape ?? 0;
    for (const meta of [{ Bad: { kind: 'counter' } }, { ok: { kind: 'rate' } }, { ok: { kind: 'gauge', unit: 'x'.repeat(33) } }, { ok: { kind: 'gauge', extra: true } }]) {
      nc.publish(s.metrics, json({ events_processed: 1, events_failed: 0, processing_ms: 0, meta }));
    }
    await nc.flush();
    await eventually(async () => ((await t.ams.broker.health()).dropped_messages as Record<string, number>)?.bad_shape ?? 0, (n) => n >= droppedBefore + 4, 'four malformed messages counted');
    expect(await kindsOf(id)).toEqual([]);
    expect(await t.ams.db.knex('agent_metrics').where({ agent_id: id, name: 'events_processed' })).toEqual([]);
  });

  it('answers the fleet series with their meta', async () => {
    const res = await t.api.get(`/api/v1/metrics?from=${Date.now() - 3_600_000}&to=${Date.now()}&step=600`);
    expect(res.status).toBe(200);
    expect(res.body.meta).toEqual({
      cpu_percent_avg: { kind: 'gauge', unit: '%' },
      cpu_percent_max: { kind: 'gauge', unit: '%' },
      memory_mb_total: { kind: 'gauge', unit: 'MiB' },
      memory_mb_max: { kind: 'gauge', unit: 'MiB' },
      events_processed_rate: { kind: 'counter', unit: 'events' },
      events_failed_rate: { kind: 'counter', unit: 'events' },
      error_rate: { kind: 'gauge', unit: 'ratio' },
      agents_reporting: { kind: 'gauge', unit: 'agents' },
    });
  });
});

describe('series measured by the AMS for a supervised agent', () => {
  let s: SupervisedAms;
  afterAll(() => s?.stop());

  it('stores and serves the ping round trip (response_ms), the heartbeat delay and the sample agent’s declared counters', async () => {
    s = await startSupervisedAms({ security: `${SAMPLE_AGENTS}/security` }, { env: { OPMAS_METRICS_INTERVAL: '0.2' } });
    const id = await s.idOf('SecurityAgent');
    expect((await s.api.put(`/api/v1/agents/${id}/config`, { config: { heartbeat_interval: 1 } })).status).toBe(200);
    expect((await s.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    const from = Date.now() - 60_000;
    const res = await eventually(
      () => s.api.get(`/api/v1/agents/${id}/metrics?from=${from}&to=${Date.now() + 60_000}&step=1&names=response_ms,heartbeat_latency_ms,findings,memory_mb`),
      (r) =>
        r.status === 200 &&
        ['response_ms', 'heartbeat_latency_ms', 'findings', 'memory_mb'].every((n) => r.body[n].some((v: number | null) => v !== null)) &&
        r.body.meta.findings.kind === 'counter',
      'ping, heartbeat delay, findings and memory series, findings declared a counter',
      45_000,
    );
    const values = (name: string) => res.body[name].filter((v: number | null) => v !== null) as number[];
    expect(Math.min(...values('response_ms'))).toBeGreaterThan(0);
    expect(Math.max(...values('response_ms'))).toBeLessThan(5000);
    // No event reached the agent: its findings counter stands still, a rate of 0 per second.
    expect(values('findings').every((v) => v === 0)).toBe(true);
    expect(res.body.meta).toMatchObject({
      response_ms: { kind: 'gauge', unit: 'ms' },
      heartbeat_latency_ms: { kind: 'gauge', unit: 'ms' },
      findings: { kind: 'counter', unit: 'findings' },
      memory_mb: { kind: 'gauge', unit: 'MiB' },
    });
    // One stored row per ping, in the resource samples.
    const pings = await s.ams.db.knex('agent_resource_metrics').where({ agent_id: id, metric_type: 'response_ms' }).select('metric_value');
    expect(pings.length).toBeGreaterThan(0);
    const kinds = await s.ams.db.knex('agent_metric_kinds').where('agent_id', id).orderBy('name').pluck('name');
    expect(kinds).toEqual(['failed_logins', 'findings', 'sudo_events']);
  });
});
