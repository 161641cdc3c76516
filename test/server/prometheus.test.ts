// GET /metrics: Prometheus text exposition behind a bearer token with metrics:read. Parses
// the text and checks specific series: the AMS process, per-agent status (one-hot), health,
// restarts, heartbeat age, latest sample, ingest and broker drop counters.
import { spawn } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { eventually } from '../helpers/wait.js';
import { subjects } from '../../server/broker/subjects.js';
import { recordSecret } from '../helpers/secrets.js';
import { createSampler } from '../../server/supervisor/resource-sampler.js';
import { storeSamples } from '../../server/control/observation-applier.js';
import { createPrometheusExporter } from '../../server/monitoring/prometheus.js';

let t: TestAms;

beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t?.stop());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the text format: # TYPE lines and `name{labels} value` samples. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

const scrape = async (token?: string) => {
  const res = await fetch(`${t.url}/metrics`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};
const adminToken = async () => {
  const ro = await t.userWith('read-only');
  return ro.session.access_token;
};
const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe('GET /metrics', () => {
  it('exposes the AMS process and each agent: status one-hot, health, restarts, heartbeat age', async () => {
    const a = await createAgent(t.api);
    const b = await createAgent(t.api);
    const knex = t.ams.db.knex;
    await knex('agent_status').where({ agent_id: a.id }).update({ process_status: 'running', health_status: 'healthy', last_heartbeat: new Date(Date.now() - 5000).toISOString() });
    await knex('agent_status_history').insert(
      ['process_started', 'process_exited', 'process_started', 'process_started', 'health_changed'].map((event_type) => ({ agent_id: a.id, event_type, details: '{}' })),
    );
    const token = await adminToken();
    const res = await scrape(token);
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    expect(res.type).toContain('version=0.0.4');
    const { types, samples } = parseExposition(res.text);

    // The AMS process (prom-client default metrics).
    expect(find(samples, 'process_resident_memory_bytes')[0].value).toBeGreaterThan(0);
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');

    // One-hot status: exactly one 1 per agent.
    const statusA = find(samples, 'opmas_agent_status', { agent_id: a.id });
    expect(statusA.filter((s) => s.value === 1).map((s) => s.labels.status)).toEqual(['running']);
    expect(statusA).toHaveLength(8);
    expect(find(samples, 'opmas_agent_status', { agent_id: b.id, status: 'registered' })[0].value).toBe(1);
    expect(find(samples, 'opmas_agent_health', { agent_id: a.id, health: 'healthy' })[0].value).toBe(1);
    expect(find(samples, 'opmas_agent_health', { agent_id: b.id, health: 'unknown' })[0].value).toBe(1);
    expect(find(samples, 'opmas_agent_recovery_status', { agent_id: a.id, recovery_status: 'none' })[0].value).toBe(1);

    // Three starts: two restarts. B never started.
    expect(types.get('opmas_agent_restarts_total')).toBe('counter');
    expect(find(samples, 'opmas_agent_restarts_total', { agent_id: a.id })[0].value).toBe(2);
    expect(find(samples, 'opmas_agent_restarts_total', { agent_id: b.id })[0].value).toBe(0);

    // Heartbeat age: A's last heartbeat was set 5 s ago; B never sent one (no series).
    const age = find(samples, 'opmas_agent_heartbeat_age_seconds', { agent_id: a.id })[0].value;
    expect(age).toBeGreaterThanOrEqual(5);
    expect(age).toBeLessThan(600);
    expect(find(samples, 'opmas_agent_heartbeat_age_seconds', { agent_id: b.id })).toEqual([]);

    expect(find(samples, 'opmas_agent_info', { agent_id: a.id })[0].labels).toMatchObject({ agent_type: 'security', agent_version: '1.0.0' });
    expect(find(samples, 'opmas_agents')[0].value).toBeGreaterThanOrEqual(2);
  });

  it("exposes each supervised process's latest CPU and memory sample", async () => {
    const a = await createAgent(t.api);
    const proc = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      // As a host reports its process: running with this PID, its samples stored as the control plane stores them.
      await t.ams.db.knex('agent_status').where({ agent_id: a.id }).update({ pid: proc.pid, process_status: 'running' });
      const stored: Array<Promise<void>> = [];
      const sampler = createSampler({
        emit: (samples) => void stored.push(t.ams.db.knex.transaction((trx) => storeSamples(trx, samples, () => undefined))),
        logger: pino({ level: 'silent' }),
        listProcesses: () => [{ agentId: a.id, pid: proc.pid! }],
      });
      await sampler.sampleOnce();
      await sampler.sampleOnce();
      await Promise.all(stored);
      const exporter = createPrometheusExporter({ db: t.ams.db, events: t.ams.services.events, ingestStats: t.ams.services.ingest.stats, brokerHealth: () => t.ams.broker.health(), sampler: () => sampler.stats() });
      const { samples } = parseExposition(await exporter.expose());
      expect(find(samples, 'opmas_agent_memory_bytes', { agent_id: a.id })[0].value).toBeGreaterThan(1_048_576);
      expect(find(samples, 'opmas_agent_cpu_percent', { agent_id: a.id })[0].value).toBeGreaterThanOrEqual(0);
      expect(find(samples, 'opmas_sampler_ticks_total')[0].value).toBe(2);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('counts ingest and the messages the broker consumer dropped', async () => {
    const agent = await createAgent(t.api);
    const token = await adminToken();
    const nc = await connectWithCreds(agent.nats!.url, agent.nats!.creds);
    try {
      nc.publish(subjects.agent(agent.id).heartbeat, 'this is not json');
      nc.publish(subjects.agent(agent.id).heartbeat, JSON.stringify({ agent_id: agent.id, status: 'ready', timestamp: new Date().toISOString(), uptime: 1 }));
      await nc.flush();
      const { samples } = await eventually(
        async () => parseExposition((await scrape(token)).text),
        (p) => (find(p.samples, 'opmas_broker_dropped_messages_total', { reason: 'bad_json' })[0]?.value ?? 0) >= 1 && (find(p.samples, 'opmas_ingest_heartbeats_total')[0]?.value ?? 0) >= 1,
        'the dropped message and the heartbeat counted',
      );
      expect(find(samples, 'opmas_broker_up')[0].value).toBe(1);
      expect(find(samples, 'opmas_ingest_flushes_total')).toHaveLength(1);
    } finally {
      await nc.close();
    }
  });

  it('drops the series of a deleted agent', async () => {
    const gone = await createAgent(t.api);
    const token = await adminToken();
    expect(find(parseExposition((await scrape(token)).text).samples, 'opmas_agent_status', { agent_id: gone.id })).toHaveLength(8);
    expect((await t.api.delete(`/api/v1/agents/${gone.id}`)).status).toBe(204);
    expect(find(parseExposition((await scrape(token)).text).samples, 'opmas_agent_status', { agent_id: gone.id })).toEqual([]);
  });

  it('needs a bearer token with metrics:read; agent-bound principals are refused; GETs are not audited', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('not-a-token')).status).toBe(401);
    const agent = await createAgent(t.api);
    const bound = await t.userWith('agent', agent.id);
    expect((await scrape(bound.session.access_token)).status).toBe(403);
    expect((await t.api.post('/api/v1/roles', { name: 'no-metrics', permissions: ['agents:read'] })).status).toBe(201);
    const lister = await t.userWith('no-metrics');
    const denied = await scrape(lister.session.access_token);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text).error.details).toMatchObject({ required: 'metrics:read' });
    // An API token for Prometheus (read-only role).
    const created = await t.api.post('/api/v1/tokens', { name: 'prometheus', role: 'read-only' });
    expect(created.status).toBe(201);
    recordSecret(created.body.token);
    const ok = await scrape(created.body.token);
    expect(ok.status).toBe(200);
    const audited = await t.ams.db.knex('audit_log').where({ action: 'prometheusMetrics' }).pluck('result');
    expect(audited.every((r: string) => r === 'denied')).toBe(true);
    expect(audited.length).toBeGreaterThanOrEqual(2);
  });
});
