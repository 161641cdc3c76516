// PostgreSQL run only: two API replicas share one NATS, whose queue group hands each replica only
// a share of an agent's heartbeats. An agent that runs on its own (no host, registered with a
// discovery token) and heartbeats on time stays healthy: one replica at a time judges it, from
// every heartbeat, not each replica from the half it wrote.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../server/broker/index.js';
import { createLogger } from '../../server/logger.js';
import { ADMIN, apiClient, login, startTestAms, type TestAms } from '../helpers/ams.js';
import { agentBody } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { recordCreds } from '../helpers/creds.js';
import { startExternalNats, type ExternalNats } from '../helpers/external-nats.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-ext-health-'));
let nats: ExternalNats;
let a: TestAms;
let b: TestAms;
let nc: NatsConnection | undefined;

beforeAll(async () => {
  nats = await startExternalNats(work, createLogger('warn', pino.destination({ dest: path.join(work, 'nats.log'), sync: true })));
  const jwtSecret = randomBytes(32).toString('base64url');
  a = await startTestAms({ env: nats.env, secrets: { jwtSecret } });
  b = await startTestAms({ env: nats.env, noAdmin: true, secrets: { jwtSecret }, settings: { dbUrl: a.dbUrl } });
});
afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await b?.stop();
  await a?.stop();
  await nats?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('an agent without a host, heard by two replicas', () => {
  it('stays healthy while it heartbeats on time', async () => {
    const token = await a.api.post('/api/v1/discovery-tokens', {});
    recordSecret(token.body.token);
    const res = await a.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: token.body.token });
    expect(res.status).toBe(201);
    recordCreds(res.body.nats.creds);
    const id = res.body.agent_id as string;
    expect((await a.api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 1 })).status).toBe(200);
    nc = await connectWithCreds(res.body.nats.url, res.body.nats.creds, { inboxPrefix: subjects.agent(id).inboxPrefix });
    const beat = () => nc!.publish(subjects.agent(id).heartbeat, JSON.stringify({ agent_id: id, status: 'ready', timestamp: new Date().toISOString(), uptime: 1 }));
    beat();
    const timer = setInterval(beat, 400);
    try {
      await eventually(async () => (await a.api.get(`/api/v1/agents/${id}`)).body.health, (h) => h === 'healthy', 'healthy from its heartbeats');
      await new Promise((r) => setTimeout(r, 8000));
      const history = (await a.api.get(`/api/v1/agents/${id}/status/history?event_type=health_changed&limit=50`)).body.items as Array<{ from_status: string; to_status: string }>;
      // Became healthy once, and nothing since.
      expect(history.map((h) => `${h.from_status}->${h.to_status}`)).toEqual(['unknown->healthy']);
      const viaB = apiClient(b.url, (await login(a.url, ADMIN, a.adminPassword)).access_token);
      expect((await viaB.get(`/api/v1/agents/${id}`)).body.health).toBe('healthy');
    } finally {
      clearInterval(timer);
    }
  });
});
