// A start that fails before the agent's process runs (the spawn itself fails; in a cluster, the
// credentials request goes unanswered while a NATS node is lost) is a failure like a crash: the
// host's recovery engine tries again with the agent's policy, instead of leaving an agent that
// should run `failed` for good with nothing in progress and nothing held. Found by the cluster
// harness (test/cluster/); reproduced here with a spawn that fails until its interpreter exists.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { writePackage } from '../helpers/packages.js';

let t: SupervisedAms;
let id: string;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-start-failure-'));
const interpreter = path.join(scratch, 'bin', 'agent-shell');

beforeAll(async () => {
  const agentsDir = path.join(scratch, 'agents');
  // An executable script whose interpreter is not there yet: resolving the command works, the spawn fails (ENOENT).
  const dir = writePackage(agentsDir, 'scripted', {
    name: 'ScriptedAgent',
    version: '1.0.0',
    type: 'security',
    command: './run.sh',
    topics: 'logs.security',
    findings: 'findings.security',
    files: { 'agent.mjs': fs.readFileSync(path.join(SAMPLE_AGENTS, 'security/agent.mjs'), 'utf8'), 'run.sh': `#!${interpreter}\nexec node agent.mjs\n` },
  });
  fs.chmodSync(path.join(dir, 'run.sh'), 0o755);
  t = await startSupervisedAms({}, { agentsDir });
  id = await t.idOf('ScriptedAgent');
  await t.setPolicy(id, { retry_delay: 0.2, backoff_factor: 1, max_retries: 1000 });
});
afterAll(async () => {
  await t?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('a start that fails before the process runs', () => {
  it('is tried again by the recovery engine until the agent runs', async () => {
    expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    const failed = await t.waitStatus(id, (s) => s.process_status === 'failed', 'the start failed');
    expect(failed.last_error).toContain('could not start');
    expect((await t.history(id)).some((h) => h.event_type === 'process_exited' && h.details.spawned === false)).toBe(true);

    // The cause goes away (the interpreter is installed): the agent runs, with nobody asking again.
    fs.mkdirSync(path.dirname(interpreter), { recursive: true });
    fs.symlinkSync('/bin/sh', interpreter);
    const running = await t.waitStatus(id, (s) => s.process_status === 'running', 'the agent started by its recovery', 30_000);
    expect(running.pid).toBeGreaterThan(0);
    const history = await t.history(id);
    expect(history.some((h) => h.event_type === 'recovery_attempt')).toBe(true);
    expect((await t.api.get(`/api/v1/agents/${id}`)).body).toMatchObject({ desired_state: 'running', held: false });
  });
});
