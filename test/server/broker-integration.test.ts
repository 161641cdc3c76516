// The AMS with its real nats-server: registered agents connect with their own credentials,
// what they publish is stored, malformed messages are counted, rotation and deletion revoke,
// an SDK agent answers control requests, and a broker outage shows in /health and heals.
import path from 'node:path';
import fs from 'node:fs';
import { errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../server/broker/index.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { agentBody } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { recordCreds } from '../helpers/creds.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';
import { killAllAgents, SAMPLE_AGENTS } from '../helpers/agents.js';
import { spawn } from 'node:child_process';
import { inject } from 'vitest';

let t: TestAms;
const open: NatsConnection[] = [];
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(async () => {
  await killAllAgents();
  for (const nc of open) await nc.close().catch(() => undefined);
  await t.stop();
});

async function registered(overrides: Record<string, unknown> = {}) {
  const token = await t.api.post('/api/v1/discovery-tokens', {});
  recordSecret(token.body.token);
  const res = await t.anon.post('/api/v1/agents', { ...agentBody(overrides), discovery_token: token.body.token });
  expect(res.status).toBe(201);
  recordCreds(res.body.nats.creds);
  return res.body as { agent_id: string; nats: { url: string; creds: string } };
}

async function connectAs(agent: { agent_id: string; nats: { url: string; creds: string } }, creds = agent.nats.creds) {
  const nc = await connectWithCreds(agent.nats.url, creds, { inboxPrefix: subjects.agent(agent.agent_id).inboxPrefix, maxReconnectAttempts: 0 });
  open.push(nc);
  return nc;
}

function violation(nc: NatsConnection): Promise<Error> {
  return (async () => {
    for await (const s of nc.status()) if (s.type === 'error' && s.error instanceof natsErrors.PermissionViolationError) return s.error;
    throw new Error('closed without a permission violation');
  })();
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('registered agents on the broker', () => {
  it('connect with their own credentials; what they publish is stored', async () => {
    const agent = await registered();
    expect(agent.nats.url).toBe(t.ams.broker.url);
    const nc = await connectAs(agent);
    const s = subjects.agent(agent.agent_id);
    nc.publish(s.heartbeat, json({ agent_id: agent.agent_id, status: 'ready', timestamp: new Date().toISOString(), uptime: 12.5, metrics: { queue_depth: 3 } }));
    nc.publish(s.metrics, json({ events_processed: 10, events_failed: 1, processing_ms: 42 }));
    nc.publish(s.logs, json({ level: 'WARNING', message: 'disk almost full', timestamp: new Date().toISOString(), context: { free_mb: 12 } }));
    await nc.flush();
    const stored = await eventually(() => t.api.get(`/api/v1/agents/${agent.agent_id}`), (r) => r.body.last_heartbeat !== null, 'the heartbeat to be stored');
    expect(stored.body).toMatchObject({ reported_status: 'ready', uptime_s: 12.5 });
    const metrics = await eventually(
      () => t.ams.db.knex('agent_metrics').where('agent_id', agent.agent_id).select('name', 'value'),
      (rows) => rows.length >= 4,
      'metric rows',
    );
    expect(Object.fromEntries(metrics.map((m: { name: string; value: number }) => [m.name, m.value]))).toMatchObject({ events_processed: 10, events_failed: 1, processing_ms: 42, queue_depth: 3 });
    const logs = await t.ams.db.knex('agent_logs').where('agent_id', agent.agent_id).select('level', 'message', 'context', 'source');
    expect(logs).toEqual([{ level: 'WARNING', message: 'disk almost full', context: { free_mb: 12 }, source: 'nats' }]);
  });

  it('get a permission violation publishing as another agent or subscribing to its control subject', async () => {
    const a = await registered();
    const b = await registered();
    const nc = await connectAs(a);
    const pubDenied = violation(nc);
    nc.publish(subjects.agent(b.agent_id).heartbeat, json({}));
    expect((await pubDenied).message).toMatch(/Permissions Violation for Publish/);
    const subDenied = violation(nc);
    nc.subscribe(subjects.agent(b.agent_id).control);
    expect((await subDenied).message).toMatch(/Permissions Violation for Subscription/);
  });

  it('drop and count malformed messages and keep consuming', async () => {
    const agent = await registered();
    const nc = await connectAs(agent);
    const s = subjects.agent(agent.agent_id);
    nc.publish(s.heartbeat, new TextEncoder().encode('{not json'));
    nc.publish(s.heartbeat, json({ agent_id: agent.agent_id, status: 'sleepy' }));
    nc.publish(s.heartbeat, json({ agent_id: agent.agent_id, status: 'ready', timestamp: new Date().toISOString(), uptime: 1 }));
    await nc.flush();
    const health = await eventually(
      () => t.api.get('/api/v1/health'),
      (r) => (r.body.components.broker.dropped_messages?.bad_json ?? 0) >= 1 && (r.body.components.broker.dropped_messages?.bad_shape ?? 0) >= 1,
      'the drops to be counted',
    );
    expect(health.body.components.broker).toMatchObject({ status: 'ok', mode: 'host', connection: 'connected' });
    await eventually(() => t.api.get(`/api/v1/agents/${agent.agent_id}`), (r) => r.body.uptime_s === 1, 'the valid heartbeat after the bad ones');
  });

  it('rotation issues working credentials and drops the old connection; deletion drops the live one', async () => {
    const agent = await registered();
    const oldConn = await connectAs(agent);
    const oldClosed = oldConn.closed();
    const rotated = await t.api.post(`/api/v1/agents/${agent.agent_id}/credentials/rotate`);
    expect(rotated.status).toBe(200);
    recordCreds(rotated.body.nats.creds);
    expect(rotated.body.revoked).toBe(1);
    await oldClosed;
    await expect(connectAs(agent)).rejects.toThrow();
    const fresh = await connectAs(agent, rotated.body.nats.creds);
    expect(fresh.isClosed()).toBe(false);

    const freshClosed = fresh.closed();
    expect((await t.api.delete(`/api/v1/agents/${agent.agent_id}`)).status).toBe(204);
    await freshClosed;
    await expect(connectAs(agent, rotated.body.nats.creds)).rejects.toThrow();
  });

  it('refuses topics in reserved namespaces', async () => {
    const res = await t.api.post('/api/v1/agents', agentBody({ subscribed_topics: ['opmas.agents.>'] }));
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].reason).toContain('reserved');
  });
});

describe('an SDK agent against the AMS', () => {
  it('heartbeats into the AMS and answers control requests', async () => {
    const agent = await registered({ agent_type: 'security', subscribed_topics: ['logs.security', 'logs.auth'], findings_topic: 'findings.security' });
    const credsFile = path.join(t.dataDir, `${agent.agent_id}.creds`);
    fs.writeFileSync(credsFile, agent.nats.creds, { mode: 0o600 });
    const child = spawn(process.execPath, ['agent.mjs'], {
      cwd: path.join(SAMPLE_AGENTS, 'security'),
      env: {
        PATH: process.env.PATH, OPMAS_AGENT_ID: agent.agent_id, OPMAS_NATS_URL: agent.nats.url, OPMAS_NATS_CREDS: credsFile,
        OPMAS_CONFIG: JSON.stringify({ heartbeat_interval: 1, log_level: 'INFO' }), OPMAS_AGENT_SDK: inject('agentSdk'),
      },
      stdio: 'ignore',
    });
    try {
      await eventually(() => t.api.get(`/api/v1/agents/${agent.agent_id}`), (r) => r.body.reported_status === 'ready' && r.body.last_heartbeat, 'the SDK heartbeat');
      const control = subjects.agent(agent.agent_id).control;
      expect(await t.ams.broker.connection.request(control, { action: 'ping' }, 5000)).toMatchObject({ ok: true });
      expect(await t.ams.broker.connection.request(control, { action: 'config.update', version: 2, config: { heartbeat_interval: 2, log_level: 'DEBUG' } }, 5000)).toMatchObject({ ok: true });
      const rejected = (await t.ams.broker.connection.request(control, { action: 'config.update', version: 3, config: { heartbeat_interval: 0 } }, 5000)) as { ok: boolean; error?: string };
      expect(rejected.ok).toBe(false);
      expect(rejected.error).toContain('heartbeat_interval');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

describe('broker outage', () => {
  it('shows in /health, leaves the rest of the API working, and heals by itself', async () => {
    const pid = t.ams.broker.server!.info().pid!;
    process.kill(pid, 'SIGKILL');
    const down = await eventually(() => t.api.get('/api/v1/health'), (r) => r.body.components.broker.status !== 'ok', 'the outage to show');
    expect(down.status).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.components.database.status).toBe('ok');
    expect((await t.api.get('/api/v1/agents')).status).toBe(200);
    const healed = await eventually(() => t.api.get('/api/v1/health'), (r) => r.body.components.broker.status === 'ok', 'the broker to come back', 30_000);
    expect(healed.body.status).toBe('ok');
    expect(healed.body.components.broker.server.restarts).toBeGreaterThanOrEqual(1);
  });
});
