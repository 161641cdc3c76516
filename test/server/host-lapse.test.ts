// A host whose supervisor froze (SIGSTOP, as a paused VM or a stalled machine) for longer than
// its lease: the control plane calls the host down and its agents' health unknown, while the
// agents run on. When the supervisor resumes and renews its lease, the host is up again and the
// agents' health is what its supervisor sees, without a restart of anything. And a start asked
// while the host is down is carried out by the supervisor that comes back for it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { alive, SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { spawnSupervisor, type SpawnedSupervisor } from '../helpers/spawn-ams.js';
import { eventually } from '../helpers/wait.js';

let t: SupervisedAms;
let sup: SpawnedSupervisor;
const hostId = `lapse-${Date.now().toString(36)}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-sup-'));
const agentsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-lapse-agents-'));
const dirs: string[] = [];

beforeAll(async () => {
  fs.cpSync(`${SAMPLE_AGENTS}/security`, path.join(agentsDir, 'security'), { recursive: true });
  t = await startSupervisedAms({}, { settings: { leaseTtlS: 2 } });
  const creds = await t.ams.broker.issuer.issueSupervisor(hostId);
  sup = spawnSupervisor({
    hostId, dataDir, natsUrl: t.ams.broker.url!, creds: creds.creds,
    args: ['--lease-ttl', '2', '--agents-dir', agentsDir],
    env: { OPMAS_AGENT_SDK: inject('agentSdk') },
  });
  await sup.ready();
});

afterAll(async () => {
  if (sup && sup.child.exitCode === null && sup.child.signalCode === null) {
    sup.child.kill('SIGCONT');
    sup.child.kill('SIGTERM');
    await new Promise((r) => sup.child.once('exit', r));
  }
  await t?.stop();
  for (const dir of [dataDir, agentsDir, ...dirs]) fs.rmSync(dir, { recursive: true, force: true });
});

const host = async () => (await t.api.get(`/api/v1/hosts/${hostId}`)).body;

it('comes back up with its agents healthy again after its supervisor was frozen past its lease', async () => {
  const id = (await eventually(() => t.idOf('SecurityAgent').catch(() => undefined), Boolean, 'the agent registered from the host', 30_000))!;
  expect((await t.api.get(`/api/v1/agents/${id}`)).body.host_id).toBe(hostId);
  // Long enough that the freeze itself changes nothing the supervisor judges.
  expect((await t.api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 20 })).status).toBe(200);
  expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
  const before = await t.waitStatus(id, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'running and healthy');

  sup.child.kill('SIGSTOP');
  let resumed = false;
  try {
    await eventually(host, (h) => h.status === 'down', 'the host called down', 30_000, 200);
    const unknown = await t.waitStatus(id, (s) => s.health_status === 'unknown', 'health unknown while its host is down');
    expect(unknown.process_status).toBe('running');
    // The agent runs on: it is the supervisor that stalled, not the agent.
    expect(alive(before.pid)).toBe(true);
    sup.child.kill('SIGCONT');
    resumed = true;
  } finally {
    if (!resumed) sup.child.kill('SIGCONT');
  }
  await eventually(host, (h) => h.status === 'up', 'the host up again', 30_000, 200);
  const after = await t.waitStatus(id, (s) => s.health_status === 'healthy', 'healthy again without a restart', 20_000);
  expect(after).toMatchObject({ process_status: 'running', pid: before.pid });
  const history = await t.history(id);
  const changes = history.filter((h) => h.event_type === 'health_changed').map((h) => `${h.from_status}->${h.to_status}`);
  expect(changes.slice(-2)).toEqual(['healthy->unknown', 'unknown->healthy']);
  // Nothing was started again.
  expect(history.filter((h) => h.event_type === 'process_started')).toHaveLength(1);
});

it('carries out a start asked while its host was down, by a supervisor that had never seen the agent', async () => {
  const id = await t.idOf('SecurityAgent');
  expect((await t.api.post(`/api/v1/agents/${id}/stop`)).status).toBe(202);
  await t.waitStatus(id, (s) => s.process_status === 'stopped', 'stopped');
  sup.child.kill('SIGTERM');
  await new Promise((r) => sup.child.once('exit', r));
  await eventually(host, (h) => h.status === 'down', 'the host down', 30_000, 200);
  const asked = await t.api.post(`/api/v1/agents/${id}/start`);
  expect(asked.status).toBe(202);
  expect(asked.body.host_status).toBe('down');
  expect((await t.status(id)).process_status).toBe('starting');
  // The machine replaced: the same host id, a data dir with nothing of the agent in it.
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-sup-'));
  dirs.push(fresh);
  const creds = await t.ams.broker.issuer.issueSupervisor(hostId);
  sup = spawnSupervisor({ hostId, dataDir: fresh, natsUrl: t.ams.broker.url!, creds: creds.creds, args: ['--lease-ttl', '2', '--agents-dir', agentsDir], env: { OPMAS_AGENT_SDK: inject('agentSdk') } });
  await sup.ready();
  const running = await t.waitStatus(id, (s) => s.process_status === 'running' && s.pid !== null, 'started by the supervisor that came back');
  expect(alive(running.pid)).toBe(true);
  // The asked start, then the process: no failure recorded in between.
  const history = await t.history(id);
  const since = history.slice(history.findLastIndex((h) => h.event_type === 'process_stopped') + 1);
  expect(since.filter((h) => h.event_type !== 'health_changed').map((h) => `${h.event_type}:${h.from_status}->${h.to_status}`)).toEqual([
    'start_requested:stopped->starting',
    'process_started:starting->running',
  ]);
});
