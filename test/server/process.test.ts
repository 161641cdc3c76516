// The AMS as a process: the ready line, graceful stop, the data-dir lock, persistence.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { apiClient, login, testPassword } from '../helpers/ams.js';
import { freshDatabase, type FreshDb } from '../helpers/test-db.js';
import { spawnAms } from '../helpers/spawn-ams.js';

let dataDir: string;
let db: FreshDb;
let args: string[];
let password: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-proc-'));
  db = await freshDatabase(dataDir, inject('dbTemplate'));
  args = ['--port', '0', '--data-dir', dataDir, ...(db.dbUrl ? ['--db-url', db.dbUrl] : [])];
  password = testPassword();
  env = { OPMAS_ADMIN_PASSWORD: password };
});
afterAll(async () => {
  await db.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the AMS process', () => {
  it('prints one ready line, refuses a second AMS on its data dir, keeps data across a restart and stops on SIGTERM', async () => {
    const first = await spawnAms(args, env).ready;
    expect(first.stdout).toHaveLength(1);
    const ready = JSON.parse(first.stdout[0]);
    expect(Object.keys(ready)).toEqual(['event', 'url', 'pid']);
    expect(ready).toEqual({ event: 'ready', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), pid: first.child.pid });
    // Logs are JSON lines on stderr.
    const logLine = first.stderr().split('\n').find((l) => l.includes('AMS listening'));
    expect(JSON.parse(logLine!)).toMatchObject({ level: 30, msg: 'AMS listening' });

    const second = spawnAms(args, env);
    const outcome = await second.ready.then(
      () => 'started',
      (err: Error) => err.message,
    );
    expect(outcome).toMatch(/exited with 1/);
    expect(outcome).toContain(`Data directory ${dataDir} is in use by another AMS (pid ${first.child.pid}`);

    const session = await login(first.url, 'admin', password);
    const api = apiClient(first.url, session.access_token);
    const agent = await api.post('/api/v1/agents', { agent_name: 'Persisted', agent_version: '2.1.0', agent_type: 'wifi', labels: { site: 'a' } });
    expect(agent.status).toBe(201);
    expect((await api.put(`/api/v1/agents/${agent.body.id}/config`, { config: { log_level: 'DEBUG' }, reason: 'keep me' })).status).toBe(200);

    // An in-flight request (body still arriving) is finished after SIGTERM.
    const url = new URL(first.url);
    const body = JSON.stringify({ description: 'finished during shutdown' });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: `/api/v1/agents/${agent.body.id}`,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${session.access_token}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        first.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(5)), 300);
      }, 200);
    });
    const stopStarted = Date.now();
    expect(await inFlight).toBe(200);
    const exit = await first.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopStarted).toBeLessThan(10_000);
    expect(fs.existsSync(path.join(dataDir, 'ams.lock'))).toBe(false);

    const again = await spawnAms(args, env).ready;
    try {
      const api2 = apiClient(again.url, (await login(again.url, 'admin', password)).access_token);
      const read = await api2.get(`/api/v1/agents/${agent.body.id}`);
      expect(read.body).toMatchObject({ agent_name: 'Persisted', agent_version: '2.1.0', labels: { site: 'a' }, description: 'finished during shutdown' });
      const config = await api2.get(`/api/v1/agents/${agent.body.id}/config`);
      expect(config.body).toMatchObject({ version: 1, config: { log_level: 'DEBUG' }, sources: { log_level: 'agent' } });
    } finally {
      again.child.kill('SIGINT');
      expect(await again.exited).toEqual({ code: 0, signal: null });
    }
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-stale-'));
    const fresh = await freshDatabase(dir, inject('dbTemplate'));
    try {
      fs.writeFileSync(path.join(dir, 'ams.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname(), started_at: '2020-01-01T00:00:00Z' }));
      const ams = await spawnAms(['--port', '0', '--data-dir', dir, ...(fresh.dbUrl ? ['--db-url', fresh.dbUrl] : [])]).ready;
      expect((await apiClient(ams.url).get('/api/v1/health')).status).toBe(200);
      ams.child.kill('SIGTERM');
      expect((await ams.exited).code).toBe(0);
    } finally {
      await fresh.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad flags with a clear message and exit code 2', async () => {
    const { ready } = spawnAms(['--port', 'eighty']);
    await expect(ready).rejects.toThrow(/exited with 2.*--port must be an integer/s);
  });
});
