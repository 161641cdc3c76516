// PostgreSQL run only: the database goes away for a while under a running AMS whose agent is
// killed with SIGKILL during the outage. The host restarts the agent at once (no database needed);
// its observations wait in JetStream; when the database returns, the history has the exit with
// its signal, the recovery attempt and the new start, in order, and every observation the host
// sent is applied. Heartbeats that arrived meanwhile are not lost either.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { alive, processesOf, SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { freshDatabase } from '../helpers/test-db.js';
import { eventually } from '../helpers/wait.js';

/** Long enough to span several reconcile and heartbeat intervals; short enough for CI. */
const OUTAGE_MS = 12_000;

let proxy: TcpProxy;
let t: SupervisedAms;
let dropDb: () => Promise<void>;
let scratch: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-sup-outage-'));
  const db = await freshDatabase(scratch, inject('dbTemplate'));
  dropDb = db.drop;
  const real = new URL(db.dbUrl!);
  proxy = await startTcpProxy(real.hostname, Number(real.port || 5432));
  const viaProxy = new URL(db.dbUrl!);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  t = await startSupervisedAms({ security: `${SAMPLE_AGENTS}/security` }, { settings: { dbUrl: viaProxy.toString() } });
});
afterAll(async () => {
  await t.stop();
  await proxy.close();
  await dropDb();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('the database down while an agent is killed', () => {
  it('restarts it on its host at once; after the database returns the history is complete and in order', async () => {
    const id = await t.idOf('SecurityAgent');
    await t.setPolicy(id, { retry_delay: 0.2, stable_after: 300 });
    await t.api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 1 });
    expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    const before = await t.waitStatus(id, (s) => s.process_status === 'running' && s.health_status === 'healthy' && s.last_heartbeat !== null, 'running, healthy and heard');
    const heartbeatBefore = Date.parse(before.last_heartbeat);

    await proxy.cut();
    const cutAt = Date.now();
    try {
      expect((await t.api.get(`/api/v1/agents/${id}/status`)).status).toBe(503);
      process.kill(before.pid, 'SIGKILL');
      const local = await eventually(async () => t.ams.supervisor!.view(id), (v) => v.pid !== null && v.pid !== before.pid && v.process_status === 'running', 'restarted on its host');
      expect(alive(local.pid!)).toBe(true);
      expect(processesOf(id)).toEqual([local.pid]);
      // Keep the database away for the rest of the outage: the host goes on without it.
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))));
      expect(processesOf(id)).toEqual([local.pid]);
    } finally {
      await proxy.restore();
    }

    const after = await t.waitStatus(id, (s) => s.pid !== before.pid && s.process_status === 'running' && s.recovery_status === 'success', 'the outage applied', 60_000);
    const history = await t.history(id);
    const exited = history.findLast((h) => h.event_type === 'process_exited')!;
    expect(exited.details).toMatchObject({ pid: before.pid, signal: 'SIGKILL' });
    const attempt = history.findLast((h) => h.event_type === 'recovery_attempt')!;
    const started = history.findLast((h) => h.event_type === 'process_started')!;
    expect(started.details.pid).toBe(after.pid);
    expect(history.indexOf(exited)).toBeLessThan(history.indexOf(attempt));
    expect(history.indexOf(attempt)).toBeLessThan(history.indexOf(started));
    // It happened during the outage, and says so with its own times.
    expect(Date.parse(exited.created_at)).toBeGreaterThanOrEqual(cutAt - 1000);
    expect(Date.parse(exited.created_at)).toBeLessThan(cutAt + OUTAGE_MS);
    const recovery = (await t.api.get(`/api/v1/agents/${id}/recovery`)).body;
    expect(recovery.attempts.at(-1)).toMatchObject({ trigger: 'process_exit', recovery_strategy: 'restart', status: 'succeeded' });

    // Nothing was dropped: every observation the host made is applied.
    await eventually(async () => t.ams.supervisor!.journalStats().pending, (n) => n === 0, 'the journal empty');
    await eventually(
      async () => Number((await t.ams.db.knex('hosts').where({ id: t.ams.hostId }).first()).applied_seq),
      (seq) => seq === t.ams.supervisor!.lastSeq(),
      'every observation applied',
    );
    // Heartbeats heard during the outage were kept: the last one is newer than the cut.
    const heard = await t.waitStatus(id, (s) => Date.parse(s.last_heartbeat) > cutAt, 'a heartbeat from the outage or after');
    expect(Date.parse(heard.last_heartbeat)).toBeGreaterThan(heartbeatBefore);
    const ingest = (await t.api.get('/api/v1/health')).body.components.ingest;
    expect(ingest.heartbeats).toBeGreaterThan(0);
    // The API answers again.
    expect((await t.api.get(`/api/v1/agents/${id}`)).status).toBe(200);
  });
});
