// The AMS stopping and starting around running agents: a graceful stop stops them and, their
// desired state being unchanged, the next start brings back every agent that should run; after a crash the next AMS adopts what still runs (same PID,
// output still captured, exits noticed) or stops what it must not keep, never starts a second
// copy, and is not fooled by a PID that belongs to another process. Also a real kill -9 of the
// AMS process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { alive, processesOf, SAMPLE_AGENTS, startSupervisedAms, fillAgentsDir, type SupervisedAms } from '../helpers/supervised.js';
import { validPackage } from '../helpers/packages.js';
import { apiClient, login, testPassword } from '../helpers/ams.js';
import { freshDatabase } from '../helpers/test-db.js';
import { spawnAms } from '../helpers/spawn-ams.js';
import { eventually } from '../helpers/wait.js';

const TICKER = "let n = 0;\nprocess.on('SIGTERM', () => process.exit(0));\nsetInterval(() => console.log(`tick ${++n}`), 100);\n";

let t: SupervisedAms;
let security: string;
let ticker: string;
let doomed: string;
beforeAll(async () => {
  t = await startSupervisedAms({
    security: `${SAMPLE_AGENTS}/security`,
    ticker: validPackage('TickerAgent', '1.0.0', { type: 'ticker', files: { 'agent.mjs': TICKER } }),
    doomed: validPackage('DoomedAgent', '1.0.0', { type: 'doomed', files: { 'agent.mjs': TICKER } }),
  });
  security = await t.idOf('SecurityAgent');
  ticker = await t.idOf('TickerAgent');
  doomed = await t.idOf('DoomedAgent');
  await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 1, autostart: true });
});
afterAll(() => t.stop());

const start = async (id: string) => {
  expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
  return t.waitStatus(id, (s) => s.process_status === 'running', 'running');
};
const ticks = (id: string) => t.ams.db.knex('agent_logs').where({ agent_id: id }).whereLike('message', 'tick %').count({ n: '*' }).first().then((r) => Number(r?.n));

describe('a graceful AMS stop', () => {
  it('stops every agent; the next start brings back what should run and leaves stopped agents stopped', async () => {
    const sec = await start(security);
    const tick = await start(ticker);
    const doomedBefore = await t.status(doomed);
    expect(doomedBefore.process_status).toBe('registered');
    await t.restart();
    expect(alive(sec.pid)).toBe(false);
    expect(alive(tick.pid)).toBe(false);
    const historyOf = async (id: string) => t.history(id);
    const stopped = (await historyOf(ticker)).filter((h) => h.event_type === 'stop_requested').at(-1);
    expect(stopped.details).toMatchObject({ cause: 'ams_shutdown' });
    // A shutdown does not change what should be: both run again, as new processes.
    const again = await t.waitStatus(security, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'autostarted');
    expect(again.pid).not.toBe(sec.pid);
    expect((await historyOf(security)).filter((h) => h.event_type === 'start_requested').at(-1).details).toMatchObject({ cause: 'autostart' });
    const tickAgain = await t.waitStatus(ticker, (s) => s.process_status === 'running', 'the ticker back');
    expect(tickAgain.pid).not.toBe(tick.pid);
    expect((await historyOf(ticker)).filter((h) => h.event_type === 'start_requested').at(-1).details).toMatchObject({ cause: 'desired_state' });
    expect(processesOf(security)).toEqual([again.pid]);
    expect(processesOf(ticker)).toEqual([tickAgain.pid]);
    expect((await t.api.get(`/api/v1/agents/${ticker}`)).body).toMatchObject({ desired_state: 'running' });
    // One that should not run stays as it was, with nothing judged about it.
    expect(await t.status(doomed)).toMatchObject({ process_status: 'registered', health_status: 'unknown' });
  });
});

describe('after an AMS crash', () => {
  it('the next AMS adopts the agents still running: same PID, no second copy, output and exits still seen', async () => {
    const sec = await t.waitStatus(security, (s) => s.process_status === 'running', 'running');
    // It should run (the graceful restart above brought it back).
    const tick = await t.waitStatus(ticker, (s) => s.process_status === 'running', 'running');
    await eventually(() => ticks(ticker), (n) => n > 0, 'ticks');
    t.ams.supervisor!.abandon();
    await t.restart();
    const adopted = await t.status(security);
    expect(adopted).toMatchObject({ process_status: 'running', pid: sec.pid, adopted: true });
    expect(processesOf(security)).toEqual([sec.pid]);
    expect(processesOf(ticker)).toEqual([tick.pid]);
    expect((await t.history(security)).filter((h) => h.event_type === 'adopted')).toEqual([
      expect.objectContaining({ from_status: 'running', to_status: 'running', details: expect.objectContaining({ pid: sec.pid }) }),
    ]);
    // Its heartbeats keep it healthy, and its output is still read.
    await t.waitStatus(security, (s) => s.health_status === 'healthy', 'healthy');
    const seen = await ticks(ticker);
    await eventually(() => ticks(ticker), (n) => n > seen + 3, 'more ticks after adoption');
    // An adopted process cannot be waited for: its death is noticed by polling, then recovered.
    await t.setPolicy(ticker, { retry_delay: 0.1 });
    process.kill(tick.pid, 'SIGKILL');
    const back = await t.waitStatus(ticker, (s) => s.process_status === 'running' && s.pid !== tick.pid, 'restarted after its death');
    const exited = (await t.history(ticker)).find((h) => h.event_type === 'process_exited');
    expect(exited.details).toMatchObject({ pid: tick.pid, adopted: true, exit_code: null });
    expect(processesOf(ticker)).toEqual([back.pid]);
    // Stopping an adopted agent works as usual.
    expect((await t.api.post(`/api/v1/agents/${security}/stop`)).status).toBe(202);
    await t.waitStatus(security, (s) => s.process_status === 'stopped', 'stopped');
    expect(alive(sec.pid)).toBe(false);
  });

  it('stops what it must not keep (package gone) and is not fooled by a PID that is another process', async () => {
    const tick = await t.waitStatus(ticker, (s) => s.process_status === 'running', 'running');
    const victim = await start(doomed);
    t.ams.supervisor!.abandon();
    // While no AMS runs: the ticker's package goes away; the doomed agent dies and its PID is
    // "reused" by another process (this test runner).
    fs.rmSync(path.join(t.agentsDir, 'ticker'), { recursive: true });
    process.kill(victim.pid, 'SIGKILL');
    await eventually(async () => alive(victim.pid), (a) => !a, 'the doomed agent gone');
    const recordFile = path.join(t.dataDir, 'run', 'agents', `${doomed}.run.json`);
    const record = JSON.parse(fs.readFileSync(recordFile, 'utf8'));
    fs.writeFileSync(recordFile, JSON.stringify({ ...record, pid: process.pid }));
    await t.setPolicy(doomed, { auto_recovery: false }).catch(() => undefined);
    await t.restart();
    expect(alive(tick.pid)).toBe(false);
    const orphan = (await t.history(ticker)).find((h) => h.event_type === 'orphan_stopped');
    expect(orphan).toMatchObject({ from_status: 'stopping', to_status: 'stopped', details: { pid: tick.pid } });
    expect(orphan.details.reason).toContain('package is gone');
    expect((await t.status(ticker)).process_status).toBe('stopped');
    // This process is alive (we are it) and was left alone; the agent is known to have died.
    expect(alive(process.pid)).toBe(true);
    const status = await t.status(doomed);
    expect(status).toMatchObject({ process_status: 'failed', pid: null });
    const doomedHistory = await t.history(doomed);
    expect(doomedHistory.find((h) => h.event_type === 'process_exited')?.details.reason, JSON.stringify(doomedHistory)).toContain('no process was found');
    expect(fs.existsSync(recordFile)).toBe(false);
  });
});

describe('a real AMS process killed with SIGKILL', () => {
  it('leaves its agent running, and the next AMS adopts it instead of starting a second copy', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-crash-'));
    const agentsDir = path.join(dataDir, 'agents');
    fillAgentsDir(agentsDir, { security: `${SAMPLE_AGENTS}/security` });
    const db = await freshDatabase(dataDir, inject('dbTemplate'));
    const password = testPassword();
    const args = ['--port', '0', '--data-dir', dataDir, '--agents-dir', agentsDir, ...(db.dbUrl ? ['--db-url', db.dbUrl] : [])];
    const env = { OPMAS_ADMIN_PASSWORD: password, OPMAS_AGENT_SDK: inject('agentSdk') };
    const first = await spawnAms(args, env).ready;
    try {
      const api = apiClient(first.url, (await login(first.url, 'admin', password)).access_token);
      const id = (await api.get('/api/v1/agents')).body.items[0].id;
      await api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 1, autostart: true });
      expect((await api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
      const running = await eventually(() => api.get(`/api/v1/agents/${id}/status`), (r) => r.body.health_status === 'healthy', 'healthy');
      const pid = running.body.pid;
      first.child.kill('SIGKILL');
      await first.exited;
      expect(alive(pid)).toBe(true);

      const second = await spawnAms(args, env).ready;
      try {
        const api2 = apiClient(second.url, (await login(second.url, 'admin', password)).access_token);
        const adopted = await api2.get(`/api/v1/agents/${id}/status`);
        expect(adopted.body).toMatchObject({ process_status: 'running', pid, adopted: true });
        // autostart did not start a second copy.
        expect(processesOf(id)).toEqual([pid]);
        await eventually(() => api2.get(`/api/v1/agents/${id}/status`), (r) => r.body.health_status === 'healthy', 'healthy under the new AMS');
        second.child.kill('SIGTERM');
        expect((await second.exited).code).toBe(0);
        expect(alive(pid)).toBe(false);
      } finally {
        second.child.kill('SIGKILL');
      }
    } finally {
      first.child.kill('SIGKILL');
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
