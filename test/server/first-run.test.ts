// The first run as the AMS tells it: whether setup is pending (public, only a boolean), where
// agent packages go (GET /packages/directory), the sample agents copied into a new agents
// directory and registered, and the startup output in both formats (the token never in a log).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { apiClient, login, startTestAms, testPassword, type TestAms } from '../helpers/ams.js';
import { spawnAms } from '../helpers/spawn-ams.js';
import { freshDatabase } from '../helpers/test-db.js';
import { eventually } from '../helpers/wait.js';
import { recordSecret } from '../helpers/secrets.js';

const started: TestAms[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(started.map((t) => t.stop()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-first-run-'));
  dirs.push(d);
  return d;
};

describe('GET /auth/setup', () => {
  it('answers only whether the AMS waits for its first admin, without a token, until setup is done', async () => {
    const tokens: string[] = [];
    const t = await startTestAms({ noAdmin: true, announce: (_line, facts) => facts?.setupToken && tokens.push(facts.setupToken) });
    started.push(t);
    const before = await t.anon.get('/api/v1/auth/setup');
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ setup_required: true });
    expect(tokens).toHaveLength(1);
    recordSecret(tokens[0]);
    const password = testPassword();
    expect((await t.anon.post('/api/v1/auth/setup', { token: tokens[0], username: 'first-admin', password })).status).toBe(201);
    expect((await t.anon.get('/api/v1/auth/setup')).body).toEqual({ setup_required: false });
  });

  it('is false on an AMS that has its admin, and listed in the OpenAPI document as public', async () => {
    const t = await startTestAms();
    started.push(t);
    expect((await t.anon.get('/api/v1/auth/setup')).body).toEqual({ setup_required: false });
    const doc = (await t.anon.get('/api/v1/openapi.json')).body;
    expect(doc.paths['/api/v1/auth/setup'].get.responses['200']).toBeTruthy();
    expect(doc.paths['/api/v1/packages/directory'].get.responses['200']).toBeTruthy();
  });
});

describe('GET /packages/directory', () => {
  it('names the agents directory and a .env.discovery example to readers of packages, and refuses others', async () => {
    const agentsDir = path.join(tempDir(), 'my-agents');
    const t = await startTestAms({ settings: { agentsDir } });
    started.push(t);
    const res = await t.api.get('/api/v1/packages/directory');
    expect(res.status).toBe(200);
    expect(res.body.path).toBe(agentsDir);
    expect(res.body.env_discovery_example).toMatch(/^AGENT_NAME=/m);
    expect((await t.anon.get('/api/v1/packages/directory')).status).toBe(401);
    const readOnly = await t.userWith('read-only');
    expect((await readOnly.api.get('/api/v1/packages/directory')).status).toBe(200);
    const agent = (await t.api.post('/api/v1/agents', { agent_name: 'Probe', agent_version: '1.0.0', agent_type: 'probe' })).body;
    const bound = await t.userWith('agent', agent.agent_id ?? agent.id);
    expect((await bound.api.get('/api/v1/packages/directory')).status).toBe(403);
  });
});

describe('the AMS process on a new data dir', () => {
  it('copies the sample agents into <data-dir>/agents, registers them, and says so in a JSON ready line', async () => {
    const dataDir = tempDir();
    const db = await freshDatabase(dataDir, inject('dbTemplate'));
    const password = testPassword();
    const ams = await spawnAms(['--port', '0', '--data-dir', dataDir, '--log-format', 'json', ...(db.dbUrl ? ['--db-url', db.dbUrl] : [])], { OPMAS_ADMIN_PASSWORD: password }).ready;
    try {
      expect(fs.readdirSync(path.join(dataDir, 'agents')).sort()).toEqual(['security', 'wifi']);
      const api = apiClient(ams.url, (await login(ams.url, 'admin', password)).access_token);
      await eventually(() => api.get('/api/v1/agents'), (r) => r.body.items?.length === 2, 'both sample agents registered');
      const lines = ams.stderr().trim().split('\n');
      // JSON mode: every line on stderr is a JSON log object.
      for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
      const ready = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'AMS ready');
      expect(ready).toMatchObject({ url: ams.url, dataDir, agentsDir: path.join(dataDir, 'agents'), samplesCopied: ['security', 'wifi'], broker: { mode: 'host' } });
      expect(ams.stdout).toEqual([JSON.stringify({ event: 'ready', url: ams.url, pid: ams.child.pid })]);
    } finally {
      ams.child.kill('SIGTERM');
      await ams.exited;
      await db.drop();
    }
  });

  it('prints the startup block and the setup token to paste when the format is pretty, and leaves an existing agents directory alone', async () => {
    const dataDir = tempDir();
    fs.mkdirSync(path.join(dataDir, 'agents'));
    const db = await freshDatabase(dataDir, inject('dbTemplate'));
    const ams = await spawnAms(['--port', '0', '--data-dir', dataDir, '--log-format', 'pretty', ...(db.dbUrl ? ['--db-url', db.dbUrl] : [])]).ready;
    try {
      const stderr = await eventually(async () => ams.stderr(), (s) => s.includes('paste this one-time setup token'), 'the setup token block');
      const token = /^ {4}(ost_\S+)$/m.exec(stderr)?.[1];
      // Shown to the person on purpose (not a log line), so not recorded as a secret to look for in the logs.
      expect(token).toMatch(/^ost_[A-Za-z0-9_-]{20,}$/);
      expect(stderr).toContain('OPMAS AMS');
      expect(stderr).toMatch(new RegExp(`Console +${ams.url.replace(/[.]/g, '\\.')}/`));
      expect(stderr).toMatch(new RegExp(`Agents +${path.join(dataDir, 'agents').replace(/[.]/g, '\\.')}`));
      expect(stderr).not.toContain('copied the sample agents');
      expect(fs.readdirSync(path.join(dataDir, 'agents'))).toEqual([]);
      // Readable lines, not JSON objects.
      expect(stderr).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: AMS listening/m);
      expect(stderr.split('\n').some((l) => l.startsWith('{"level"'))).toBe(false);
      expect(ams.stdout).toEqual([JSON.stringify({ event: 'ready', url: ams.url, pid: ams.child.pid })]);
    } finally {
      ams.child.kill('SIGTERM');
      await ams.exited;
      await db.drop();
    }
  });
});
