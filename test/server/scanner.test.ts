// The agents-directory scanner against a real directory: initial scan, every invalid case
// with its reasons, conflicts, version compatibility, path escapes, live changes, rescan.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { validPackage, writePackage } from '../helpers/packages.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
let agentsDir: string;
let outside: string;

async function packages(): Promise<Record<string, { status: string; reasons: string[]; agent_id: string | null; agent_version: string | null; fields: Record<string, string> }>> {
  const res = await t.api.get('/api/v1/packages?limit=500');
  expect(res.status).toBe(200);
  return Object.fromEntries(res.body.items.map((p: { path: string }) => [p.path, p]));
}

beforeAll(async () => {
  agentsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-agents-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-outside-'));
  writePackage(agentsDir, 'security', validPackage('SecurityAgent', '1.0.0', { extra: 'SECRET_TOKEN=do-not-show' }));
  writePackage(agentsDir, 'no-name', { version: '1.0.0', command: 'node a.mjs' });
  writePackage(agentsDir, 'bad-version', { name: 'BadVersion', version: '1.0', command: 'node a.mjs' });
  writePackage(agentsDir, 'bad-topic', { name: 'BadTopic', version: '1.0.0', command: 'node a.mjs', topics: 'logs..auth', findings: 'findings.>' });
  writePackage(agentsDir, 'no-command', { name: 'NoCommand', version: '1.0.0' });
  writePackage(agentsDir, 'dup-a', validPackage('Twin', '1.0.0'));
  writePackage(agentsDir, 'dup-b', validPackage('Twin', '1.0.0'));
  writePackage(agentsDir, 'default-exe', { name: 'DefaultExe', version: '0.1.0', files: { 'index.js': '' } });
  writePackage(outside, 'escaped', validPackage('Escaped'));
  fs.symlinkSync(path.join(outside, 'escaped'), path.join(agentsDir, 'escaped'));
  fs.writeFileSync(path.join(agentsDir, 'stray-file'), 'not a package');
  t = await startTestAms({ settings: { agentsDir } });
});
afterAll(async () => {
  await t.stop();
  fs.rmSync(agentsDir, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('initial scan', () => {
  it('registers valid packages and reports every other one with its reasons', async () => {
    const p = await packages();
    expect(p.security).toMatchObject({ status: 'registered', agent_version: '1.0.0', agent_id: expect.stringMatching(/^security-/) });
    expect(p.security.fields).toMatchObject({ AGENT_NAME: 'SecurityAgent', DEFAULT_SUBSCRIBED_TOPICS: 'logs.security,logs.auth' });
    expect(p.security.fields.SECRET_TOKEN).toBeUndefined();
    expect(p['default-exe']).toMatchObject({ status: 'registered' });
    expect(p['no-name']).toMatchObject({ status: 'invalid', reasons: ['AGENT_NAME is required'] });
    expect(p['bad-version'].reasons).toEqual([expect.stringContaining('not a semantic version')]);
    expect(p['bad-topic'].reasons).toHaveLength(2);
    expect(p['no-command'].reasons).toEqual([expect.stringContaining('AGENT_COMMAND is missing')]);
    expect(p['dup-a']).toMatchObject({ status: 'conflict', reasons: [expect.stringContaining('also provided by dup-b')] });
    expect(p['dup-b'].status).toBe('conflict');
    expect(p.escaped).toMatchObject({ status: 'invalid', reasons: [expect.stringContaining('symbolic link')] });
    expect(p['stray-file']).toMatchObject({ status: 'invalid', reasons: ['is not a folder'] });

    const agents = (await t.api.get('/api/v1/agents?limit=500')).body.items;
    expect(agents.map((a: { agent_name: string }) => a.agent_name).sort()).toEqual(['DefaultExe', 'SecurityAgent']);
    // An agent instance is (package, host): both belong to the host whose supervisor found them.
    expect(agents.map((a: { host_id: string }) => a.host_id)).toEqual([t.ams.hostId, t.ams.hostId]);
    expect(p.security).toMatchObject({ host_id: t.ams.hostId, launch_error: null });
    const security = (await t.api.get(`/api/v1/agents/${p.security.agent_id}`)).body;
    expect(security).toMatchObject({ agent_type: 'security', subscribed_topics: ['logs.security', 'logs.auth'], findings_topic: 'findings.security', status: 'registered' });
    const history = await t.ams.db.knex('agent_status_history').where('agent_id', p.security.agent_id).orderBy('id').select('event_type', 'from_status', 'to_status', 'details');
    expect(history).toEqual([
      { event_type: 'discovered', from_status: null, to_status: 'discovered', details: { source: 'scanner', package: 'security', host_id: t.ams.hostId } },
      { event_type: 'registered', from_status: 'discovered', to_status: 'registered', details: { source: 'scanner', package: 'security', host_id: t.ams.hostId } },
    ]);
    const audit = await t.api.get(`/api/v1/audit?action=package.register&target=${p.security.agent_id}`);
    expect(audit.body.items[0].actor).toMatchObject({ type: 'system', name: 'scanner' });
  });

  it('reports a name registered with another type as a conflict', async () => {
    await t.api.post('/api/v1/agents', { agent_name: 'TypedAgent', agent_version: '1.0.0', agent_type: 'wifi' });
    writePackage(agentsDir, 'typed', validPackage('TypedAgent', '1.0.0', { type: 'security' }));
    const p = await eventually(packages, (x) => x.typed !== undefined, 'the typed package');
    expect(p.typed).toMatchObject({ status: 'conflict', reasons: [expect.stringContaining('registered with type "wifi"')] });
  });
});

describe('live changes', () => {
  it('notice a package added, changed compatibly, changed incompatibly and removed', async () => {
    writePackage(agentsDir, 'live', validPackage('LiveAgent', '1.0.0'));
    const added = await eventually(packages, (p) => p.live?.status === 'registered', 'the new package to register');
    const id = added.live.agent_id!;

    writePackage(agentsDir, 'live', validPackage('LiveAgent', '1.2.0'));
    await eventually(() => t.api.get(`/api/v1/agents/${id}`), (r) => r.body.agent_version === '1.2.0', 'the compatible version to apply');

    writePackage(agentsDir, 'live', validPackage('LiveAgent', '2.0.0'));
    const incompatible = await eventually(packages, (p) => p.live?.status === 'incompatible', 'the incompatible version to be reported');
    expect(incompatible.live.reasons[0]).toContain('registered 1.2.0');
    expect((await t.api.get(`/api/v1/agents/${id}`)).body.agent_version).toBe('1.2.0');

    fs.rmSync(path.join(agentsDir, 'live'), { recursive: true });
    const removed = await eventually(packages, (p) => p.live?.status === 'removed', 'the removal to be noticed');
    expect(removed.live.agent_id).toBe(id);
  });

  it('rescans on request and reports progress', async () => {
    writePackage(agentsDir, 'rescanned', validPackage('Rescanned', '3.1.4'));
    const started = await t.api.post('/api/v1/packages/rescan');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ id: expect.any(String), status: expect.stringMatching(/running|completed/), trigger: expect.any(String) });
    const done = await eventually(() => t.api.get(`/api/v1/packages/scans/${started.body.id}`), (r) => r.body.status === 'completed', 'the scan to complete');
    expect(done.body.total).toBeGreaterThanOrEqual(12);
    expect(done.body.done).toBe(done.body.total);
    expect(done.body.counts.registered).toBeGreaterThanOrEqual(3);
    expect((await t.api.get('/api/v1/packages/scans/latest')).status).toBe(200);
    expect((await t.api.get('/api/v1/packages/scans/nope')).status).toBe(404);
    expect((await packages()).rescanned.status).toBe('registered');
    const filtered = await t.api.get('/api/v1/packages?status=invalid&limit=500');
    expect(filtered.body.items.every((p: { status: string }) => p.status === 'invalid')).toBe(true);
  });

  it('needs packages:read to list and packages:write to rescan', async () => {
    const ro = await t.userWith('read-only');
    expect((await ro.api.get('/api/v1/packages')).status).toBe(200);
    expect((await ro.api.post('/api/v1/packages/rescan')).status).toBe(403);
  });
});
