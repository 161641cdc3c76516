// PostgreSQL run only: the database goes away under a running AMS and comes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { freshDatabase, testPgUrl } from '../helpers/test-db.js';
import { inject } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let proxy: TcpProxy;
let t: TestAms;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-outage-'));
  const db = await freshDatabase(scratch, inject('dbTemplate'));
  dropDb = db.drop;
  const real = new URL(db.dbUrl!);
  proxy = await startTcpProxy(real.hostname, Number(real.port || 5432));
  const viaProxy = new URL(db.dbUrl!);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  t = await startTestAms({ settings: { dbUrl: viaProxy.toString() } });
});
afterAll(async () => {
  await t.stop();
  await proxy.close();
  await dropDb();
});

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('database outage', () => {
  it('answers 503 database_unavailable while the database is down and recovers by itself', async () => {
    expect(testPgUrl()).toBeTruthy();
    const agent = await createAgent(t.api);
    await proxy.cut();

    const list = await t.api.get('/api/v1/agents');
    expect(list.status).toBe(503);
    expect(list.body.error.code).toBe('database_unavailable');
    expect(list.body.error.message).not.toMatch(/postgres:\/\//);
    const create = await t.api.post('/api/v1/agents', { agent_name: 'DuringOutage', agent_version: '1.0.0', agent_type: 'security' });
    expect(create.status).toBe(503);
    const health = await t.api.get('/api/v1/health');
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('down');
    expect(health.body.components.database.status).toBe('down');
    expect(health.body.components.ams.status).toBe('ok');

    await proxy.restore();
    const back = await eventually(() => t.api.get(`/api/v1/agents/${agent.id}`), (r) => r.status === 200);
    expect(back.status).toBe(200);
    expect((await t.api.get('/api/v1/health')).body.status).toBe('ok');
    expect((await createAgent(t.api)).id).toMatch(/^security-/);
  });
});
