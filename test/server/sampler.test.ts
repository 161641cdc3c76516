// The resource sampler against real processes: a CPU-burning child and an idle one, sampled
// on a fast interval; stored rows, metrics.sample events, the first sample without CPU, a
// process that exits, and the interval read from the fleet configuration.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { eventually } from '../helpers/wait.js';
import { createSampler, readProcIo, type Sampler } from '../../server/supervisor/resource-sampler.js';
import { storeSamples } from '../../server/control/observation-applier.js';
import type { AmsEvent, AmsEventInput } from '../../server/events/bus.js';
import { SAMPLE_AGENTS } from '../helpers/agents.js';

let t: TestAms;
const children: ChildProcess[] = [];
const samplers: Sampler[] = [];

function child(script: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  children.push(c);
  return c;
}
const BUSY = 'const end = Date.now() + 120000; while (Date.now() < end) {}';
const IDLE = 'setTimeout(() => {}, 120000)';

beforeAll(async () => {
  t = await startTestAms({ env: { OPMAS_METRICS_INTERVAL: '0.2' } });
});
afterEach(async () => {
  for (const s of samplers.splice(0)) await s.stop();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});
afterAll(() => t?.stop());

/** A sampler whose rounds are stored as the control plane stores a host's sample observations. */
function newSampler(list: () => Array<{ agentId: string; pid: number }>, extra: Partial<Parameters<typeof createSampler>[0]> = {}): Sampler {
  const emit = (samples: Parameters<typeof storeSamples>[1]) => {
    const pending: AmsEventInput[] = [];
    void t.ams.db.knex
      .transaction((trx) => storeSamples(trx, samples, (e) => pending.push(e)))
      .then(() => pending.forEach((e) => t.ams.services.events.publish(e)));
  };
  const s = createSampler({ emit, logger: pino({ level: 'silent' }), listProcesses: list, intervalS: () => 0.2, ...extra });
  samplers.push(s);
  return s;
}

describe('resource sampler', () => {
  it('samples CPU, memory and disk of real processes, stores them and publishes metrics.sample', async () => {
    const busyAgent = await createAgent(t.api);
    const idleAgent = await createAgent(t.api);
    const busy = child(BUSY);
    const idle = child(IDLE);
    const seen: AmsEvent[] = [];
    const unsubscribe = t.ams.services.events.subscribe((e) => e.type === 'metrics.sample' && seen.push(e));
    const sampler = newSampler(() => [
      { agentId: busyAgent.id, pid: busy.pid! },
      { agentId: idleAgent.id, pid: idle.pid! },
    ], { thresholds: (ids) => new Map(ids.map((id) => [id, { cpu_percent: 80, memory_mb: 512 }])) });

    // The first sample of a process has no CPU figure (pidusage measures between two calls).
    const first = await sampler.sampleOnce();
    expect(first).toHaveLength(2);
    for (const s of first) {
      expect(s.values.cpu_percent).toBeUndefined();
      expect(s.values.memory_mb).toBeGreaterThan(0);
    }
    await sampler.start();
    const busyCpu = await eventually(
      () => t.ams.db.knex('agent_resource_metrics').where({ agent_id: busyAgent.id, metric_type: 'cpu_percent' }).pluck('metric_value'),
      (rows) => rows.some((v: number) => v > 0),
      'a CPU sample above 0% for the busy process',
    );
    expect(Math.max(...busyCpu)).toBeGreaterThan(0);
    unsubscribe();

    const rows = await eventually(
      () => t.ams.db.knex('agent_resource_metrics').where({ agent_id: busyAgent.id }).select('metric_type', 'metric_value', 'threshold_value'),
      (r) => r.some((x) => x.metric_type === 'memory_mb'),
      'stored rows',
    );
    const types = new Set(rows.map((r) => r.metric_type));
    expect(types.has('memory_mb')).toBe(true);
    if (await readProcIo(busy.pid!)) expect([...types]).toEqual(expect.arrayContaining(['disk_read_bytes', 'disk_write_bytes']));
    expect(rows.find((r) => r.metric_type === 'cpu_percent')!.threshold_value).toBe(80);
    expect(rows.find((r) => r.metric_type === 'memory_mb')!.threshold_value).toBe(512);
    expect(rows.find((r) => r.metric_type === 'memory_mb')!.metric_value).toBeGreaterThan(0);

    const busyEvents = seen.filter((e) => e.type === 'metrics.sample' && e.agent_id === busyAgent.id) as Array<Extract<AmsEvent, { type: 'metrics.sample' }>>;
    expect(busyEvents.length).toBeGreaterThanOrEqual(2);
    expect(busyEvents.some((e) => (e.values.cpu_percent ?? 0) > 0)).toBe(true);
    expect(typeof busyEvents[0].t).toBe('number');
    expect(sampler.latest(busyAgent.id)?.values.memory_mb).toBeGreaterThan(0);

    // What the sampler stored is what the API answers.
    const api = await t.api.get(`/api/v1/agents/${busyAgent.id}/metrics?from=${Date.now() - 60_000}&to=${Date.now() + 1000}&step=60&names=cpu_percent,memory_mb`);
    expect(api.status).toBe(200);
    expect(api.body.cpu_percent.some((v: number | null) => v !== null && v > 0)).toBe(true);
    expect(api.body.memory_mb.some((v: number | null) => v !== null && v > 0)).toBe(true);
  });

  it('forgets a process that exited or left the list, and adds network counters the agent reported', async () => {
    const agent = await createAgent(t.api);
    const gone = await createAgent(t.api);
    const proc = child(IDLE);
    const exiting = child(IDLE);
    let list = [
      { agentId: agent.id, pid: proc.pid! },
      { agentId: gone.id, pid: exiting.pid! },
    ];
    const sampler = newSampler(() => list);
    sampler.noteReported(agent.id, { net_rx_bytes: 1234, net_tx_bytes: 99, events_processed: 3 });
    expect(await sampler.sampleOnce()).toHaveLength(2);
    exiting.kill('SIGKILL');
    await new Promise((resolve) => exiting.once('exit', resolve));
    const after = await sampler.sampleOnce();
    expect(after.map((s) => s.agent_id)).toEqual([agent.id]);
    expect(after[0].values).toMatchObject({ net_rx_bytes: 1234, net_tx_bytes: 99 });
    expect(after[0].values.cpu_percent).toBeGreaterThanOrEqual(0);
    // Reported network counters are in agent_metrics already (ingest): not stored twice.
    expect(await t.ams.db.knex('agent_resource_metrics').where({ agent_id: agent.id, metric_type: 'net_rx_bytes' }).count({ n: '*' }).first()).toEqual({ n: 0 });
    list = [];
    expect(await sampler.sampleOnce()).toEqual([]);
    expect(sampler.latest(agent.id)).toBeUndefined();
  });

  it('skips samples of agents deleted meanwhile instead of failing the whole batch', async () => {
    const kept = await createAgent(t.api);
    const deleted = await createAgent(t.api);
    const p1 = child(IDLE);
    const p2 = child(IDLE);
    const sampler = newSampler(() => [
      { agentId: kept.id, pid: p1.pid! },
      { agentId: deleted.id, pid: p2.pid! },
    ]);
    expect((await t.api.delete(`/api/v1/agents/${deleted.id}`)).status).toBe(204);
    await sampler.sampleOnce();
    expect(sampler.stats().write_failures).toBe(0);
    await eventually(async () => Number((await t.ams.db.knex('agent_resource_metrics').where({ agent_id: kept.id }).count({ n: '*' }).first())!.n), (n) => n > 0, 'the kept agent\'s rows');
  });

  it("the host's sampler takes metrics_interval from the environment and then from the fleet configuration", async () => {
    const supervisor = t.ams.supervisor!;
    await eventually(async () => supervisor.samplerInterval(), (v) => v === 0.2, 'the OPMAS_METRICS_INTERVAL value');
    const before = supervisor.samplerStats().ticks;
    await eventually(async () => supervisor.samplerStats().ticks, (n) => n >= before + 2, 'two more sampling rounds');
    expect((await t.api.put('/api/v1/config', { config: { metrics_interval: 0.3 } })).status).toBe(200);
    await eventually(async () => supervisor.samplerInterval(), (v) => v === 0.3, 'the fleet metrics_interval');
    const bad = await t.api.put('/api/v1/config', { config: { metrics_interval: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toContain('metrics_interval');
  });

  it('a real sample agent: its process sampled, its own counters reported over NATS, both answered by one query', async () => {
    const agent = await createAgent(t.api, { agent_type: 'security' });
    const credsFile = path.join(t.dataDir, `${agent.id}.creds`);
    fs.writeFileSync(credsFile, agent.nats!.creds, { mode: 0o600 });
    const proc = spawn(process.execPath, ['agent.mjs'], {
      cwd: path.join(SAMPLE_AGENTS, 'security'),
      env: {
        PATH: process.env.PATH,
        OPMAS_AGENT_ID: agent.id,
        OPMAS_NATS_URL: agent.nats!.url,
        OPMAS_NATS_CREDS: credsFile,
        OPMAS_CONFIG: JSON.stringify({ heartbeat_interval: 0.2, log_level: 'INFO', metrics_enabled: true }),
        OPMAS_AGENT_SDK: inject('agentSdk'),
      },
      stdio: 'ignore',
    });
    children.push(proc);
    const sampler = newSampler(() => [{ agentId: agent.id, pid: proc.pid! }]);
    await sampler.start();
    const query = () => t.api.get(`/api/v1/agents/${agent.id}/metrics?from=${Date.now() - 120_000}&to=${Date.now() + 1000}&step=1&names=cpu_percent,memory_mb,events_processed,error_rate`);
    const res = await eventually(
      query,
      (r) => r.status === 200 && ['cpu_percent', 'memory_mb', 'events_processed'].every((n) => r.body[n].some((v: number | null) => v !== null)),
      'sampled and reported series of the sample agent',
    );
    expect(Math.max(...res.body.memory_mb.filter((v: number | null) => v !== null))).toBeGreaterThan(10);
    // No events reached it: a rate of 0 per second, and no error rate without processed events.
    expect(res.body.events_processed.filter((v: number | null) => v !== null).every((v: number) => v === 0)).toBe(true);
    expect(res.body.error_rate.every((v: number | null) => v === null)).toBe(true);
  });
});
