// A heartbeat is proof of life whatever its status word: an agent built elsewhere that says
// "healthy" is alive and healthy, its word is kept as reported_status (marked as not one the
// protocol knows), counted in Prometheus and logged at most once a minute. What is still
// dropped: a heartbeat that is not JSON, has no valid timestamp, or a status that is not a word.
import fs from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../server/broker/index.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { agentBody } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { recordCreds } from '../helpers/creds.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
const open: NatsConnection[] = [];
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await t.stop();
});

async function registeredAndConnected() {
  const token = await t.api.post('/api/v1/discovery-tokens', {});
  recordSecret(token.body.token);
  const res = await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: token.body.token });
  expect(res.status).toBe(201);
  recordCreds(res.body.nats.creds);
  const agent = res.body as { agent_id: string; nats: { url: string; creds: string } };
  // A short interval, so that health follows the heartbeats quickly.
  expect((await t.api.put(`/api/v1/agents/${agent.agent_id}/config`, { heartbeat_interval: 1 })).status).toBe(200);
  const nc = await connectWithCreds(agent.nats.url, agent.nats.creds, { inboxPrefix: subjects.agent(agent.agent_id).inboxPrefix, maxReconnectAttempts: 0 });
  open.push(nc);
  return { id: agent.agent_id, nc };
}

const json = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const beat = (id: string, status: unknown, uptime = 5) => ({ agent_id: id, status, timestamp: new Date().toISOString(), uptime });

describe('heartbeat status words', () => {
  it('counts a heartbeat with an unknown word as alive, keeps the word and says it is unknown', async () => {
    const { id, nc } = await registeredAndConnected();
    const timer = setInterval(() => nc.publish(subjects.agent(id).heartbeat, json(beat(id, 'healthy'))), 250);
    try {
      const agent = await eventually(() => t.api.get(`/api/v1/agents/${id}`), (r) => r.body.health === 'healthy' && r.body.last_heartbeat !== null, 'the agent to be healthy from its heartbeats, and them stored');
      expect(agent.body).toMatchObject({ reported_status: 'healthy', reported_status_known: false, last_heartbeat: expect.any(String), uptime_s: 5 });
      const health = await t.api.get(`/api/v1/agents/${id}/health`);
      expect(health.body.health).toBe('healthy');
    } finally {
      clearInterval(timer);
    }
    const token = (await t.api.post('/api/v1/tokens', { name: 'prom', role: 'read-only' })).body.token;
    recordSecret(token);
    const scrape = await t.anon.get('/metrics', { Authorization: `Bearer ${token}` });
    const counted = /^opmas_ingest_unknown_status_total (\d+)$/m.exec(scrape.body);
    expect(Number(counted?.[1])).toBeGreaterThanOrEqual(1);
    // Logged once for the minute, naming the agent and the word.
    const lines = fs.readFileSync(t.logPath, 'utf8').split('\n').filter((l) => l.includes('not one the protocol knows') && l.includes(id));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ agent: id, status: 'healthy' });
  });

  it('marks a protocol word as known', async () => {
    const { id, nc } = await registeredAndConnected();
    nc.publish(subjects.agent(id).heartbeat, json(beat(id, 'degraded', 7)));
    await nc.flush();
    const agent = await eventually(() => t.api.get(`/api/v1/agents/${id}`), (r) => r.body.uptime_s === 7, 'the heartbeat');
    expect(agent.body).toMatchObject({ reported_status: 'degraded', reported_status_known: true });
  });

  it('still drops heartbeats that are not JSON, lack a timestamp, name another agent or carry no word', async () => {
    const { id, nc } = await registeredAndConnected();
    const before = (await t.api.get('/api/v1/health')).body.components.broker.dropped_messages;
    const s = subjects.agent(id);
    nc.publish(s.heartbeat, json('{"status": "healthy"'));
    nc.publish(s.heartbeat, json({ agent_id: id, status: 'healthy', uptime: 1 }));
    nc.publish(s.heartbeat, json(beat(id, 'all good')));
    nc.publish(s.heartbeat, json(beat(id, 'x'.repeat(21))));
    nc.publish(s.heartbeat, json(beat(id, '')));
    nc.publish(s.heartbeat, json(beat(id, 42)));
    nc.publish(s.heartbeat, json({ ...beat(id, 'healthy'), agent_id: id.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }));
    nc.publish(s.heartbeat, json(beat(id, 'OK', 9)));
    await nc.flush();
    await eventually(() => t.api.get(`/api/v1/agents/${id}`), (r) => r.body.uptime_s === 9, 'the valid heartbeat after the dropped ones');
    const after = (await t.api.get('/api/v1/health')).body.components.broker.dropped_messages;
    expect((after.bad_json ?? 0) - (before.bad_json ?? 0)).toBe(1);
    expect((after.bad_shape ?? 0) - (before.bad_shape ?? 0)).toBe(5);
    expect((after.agent_mismatch ?? 0) - (before.agent_mismatch ?? 0)).toBe(1);
    expect((await t.api.get(`/api/v1/agents/${id}`)).body).toMatchObject({ reported_status: 'OK', reported_status_known: false });
  });
});
