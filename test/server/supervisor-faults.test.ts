// The supervisor of a host against faults (issue 13): NATS gone while an agent crashes (the
// host restarts it at once and journals what it saw; the control plane has all of it, in order,
// when NATS is back), a second supervisor for the same host id (refused, naming the holder), an
// observation of an older epoch (refused), and a heartbeat interval changed under a running agent
// (no false alarm, no rollback, no restart). Real nats-server with JetStream, real agents.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, processesOf, SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { spawnSupervisor as spawnStandaloneSupervisor } from '../helpers/spawn-ams.js';
import { eventually } from '../helpers/wait.js';
import { subjects } from '../../server/broker/subjects.js';
import { observationMsgId } from '../../server/broker/host-protocol.js';

let t: SupervisedAms;
let security: string;

beforeAll(async () => {
  t = await startSupervisedAms({ security: `${SAMPLE_AGENTS}/security` });
  security = await t.idOf('SecurityAgent');
});
afterAll(() => t.stop());

const ms = (iso: string) => Date.parse(iso);

/** `--role supervisor` for `hostId` in its own process, on this AMS's NATS with its own supervisor user. */
async function spawnSupervisor(hostId: string, dataDir: string) {
  const creds = await t.ams.broker.issuer.issueSupervisor(hostId);
  return spawnStandaloneSupervisor({ hostId, dataDir, natsUrl: t.ams.broker.url!, creds: creds.creds });
}

describe('NATS down while an agent crashes', () => {
  it('restarts the agent on its host at once, journals what it saw, and the control plane has all of it in order when NATS is back', async () => {
    await t.setPolicy(security, { retry_delay: 0.2, stable_after: 300 });
    await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 1 });
    expect((await t.api.post(`/api/v1/agents/${security}/start`)).status).toBe(202);
    const before = await t.waitStatus(security, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'running and healthy');
    const spec = await eventually(async () => t.ams.supervisor!.view(security), (v) => v.pid === before.pid, 'the host sees it running');
    expect(spec.process_status).toBe('running');

    await t.ams.broker.server!.stop();
    let restarted = false;
    try {
      process.kill(before.pid, 'SIGKILL');
      // The restart is the host's own decision: no round trip to anyone.
      const local = await eventually(async () => t.ams.supervisor!.view(security), (v) => v.pid !== null && v.pid !== before.pid && v.process_status === 'running', 'restarted on its host');
      expect(processesOf(security)).toEqual([local.pid]);
      expect(t.ams.supervisor!.journalStats().pending).toBeGreaterThanOrEqual(3);
      // Nothing of it can have reached the database yet.
      expect((await t.status(security)).pid).toBe(before.pid);
      await t.ams.broker.server!.start();
      restarted = true;
    } finally {
      if (!restarted) await t.ams.broker.server!.start();
    }
    const after = await t.waitStatus(security, (s) => s.process_status === 'running' && s.pid !== before.pid && s.recovery_status === 'success', 'the crash and the restart applied', 60_000);
    expect(alive(after.pid)).toBe(true);
    const history = await t.history(security);
    const exited = history.findLast((h) => h.event_type === 'process_exited')!;
    expect(exited.details).toMatchObject({ pid: before.pid, signal: 'SIGKILL' });
    const attempt = history.findLast((h) => h.event_type === 'recovery_attempt')!;
    const started = history.findLast((h) => h.event_type === 'process_started')!;
    expect(started.details.pid).toBe(after.pid);
    // In the order they happened on the host, with the times they happened.
    expect(ms(exited.created_at)).toBeLessThanOrEqual(ms(attempt.created_at));
    expect(ms(attempt.created_at)).toBeLessThanOrEqual(ms(started.created_at));
    expect(history.indexOf(exited)).toBeLessThan(history.indexOf(started));
    // Everything the host journaled was applied: its position is its last observation.
    await eventually(async () => t.ams.supervisor!.journalStats().pending, (n) => n === 0, 'the journal empty');
    const host = await eventually(async () => (await t.api.get(`/api/v1/hosts/${t.ams.hostId}`)).body, (h) => h.status === 'up', 'the host up');
    expect(host).toMatchObject({ id: t.ams.hostId, agents: { total: 1 } });
    await eventually(
      async () => (await t.ams.db.knex('hosts').where({ id: t.ams.hostId }).first()).applied_seq,
      (seq) => Number(seq) === t.ams.supervisor!.lastSeq(),
      'every observation applied',
    );
  });
});

describe('fencing', () => {
  it('a second supervisor for the same host id refuses to start, naming the holder', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-sup-'));
    try {
      const { child, stdout, stderr } = await spawnSupervisor(t.ams.hostId!, dataDir);
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
      expect(stdout).toEqual([]);
      const line = stderr().split('\n').find((l) => l.startsWith('opmas-ams: '));
      expect(line).toContain(`host ${t.ams.hostId} is held by another supervisor`);
      expect(line).toContain(`pid ${process.pid}`);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('killed with -9: its host goes down with one host_down alert; back with the next epoch, the alert resolves', async () => {
    const hostId = `h-${Date.now().toString(36)}`;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-sup-'));
    try {
      const first = await spawnSupervisor(hostId, dataDir);
      const ready = JSON.parse(await eventually(async () => first.stdout[0], Boolean, 'the supervisor ready line', 60_000));
      expect(ready).toMatchObject({ event: 'ready', role: 'supervisor', host_id: hostId });
      await eventually(async () => (await t.api.get(`/api/v1/hosts/${hostId}`)).body.status, (st) => st === 'up', 'the host up');
      first.child.kill('SIGKILL');
      // Down once the lease is not renewed for its lifetime (the AMS's --lease-ttl).
      await eventually(async () => (await t.api.get(`/api/v1/hosts/${hostId}`)).body.status, (st) => st === 'down', 'the host down', 60_000, 250);
      const hostAlerts = async () => ((await t.api.get('/api/v1/alerts?rule=host_down')).body.items as any[]).filter((a) => a.host_id === hostId);
      const [alert] = await eventually(hostAlerts, (a) => a.length === 1, 'the host_down alert');
      expect(alert).toMatchObject({ status: 'open', severity: 'critical', agent_id: null, host_id: hostId });

      const second = await spawnSupervisor(hostId, dataDir);
      const again = JSON.parse(await eventually(async () => second.stdout[0], Boolean, 'the supervisor ready line again', 60_000));
      expect(again.epoch).toBeGreaterThan(ready.epoch);
      await eventually(async () => (await t.api.get(`/api/v1/hosts/${hostId}`)).body.status, (st) => st === 'up', 'the host up again');
      const after = await eventually(hostAlerts, (a) => a.length === 1 && a[0].status === 'resolved', 'the alert resolved');
      expect(after[0].id).toBe(alert.id);
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses an observation of an older epoch of its host', async () => {
    // A restart makes a new holder of the host: the next epoch.
    const oldEpoch = t.ams.supervisor!.epoch;
    await t.restart();
    const epoch = t.ams.supervisor!.epoch;
    expect(epoch).toBe(oldEpoch + 1);
    const row = (await t.status(security)).process_status;
    const creds = await t.ams.broker.issuer.issueSupervisor(t.ams.hostId!);
    const nc = await connect({ servers: t.ams.broker.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds.creds)), inboxPrefix: subjects.host(t.ams.hostId!).inboxPrefix });
    const staleBefore = (await t.api.get('/api/v1/health')).body.components.observations.stale as number;
    try {
      // What a fenced supervisor might still send: an older epoch claiming the agent failed.
      const obs = {
        v: 1, host: t.ams.hostId!, epoch: oldEpoch, seq: 1_000_000, at: new Date().toISOString(), kind: 'status.process',
        body: { agent_id: security, changes: [{ to: 'failed', event: 'process_exited', details: { note: 'from a fenced supervisor' }, set: { pid: null } }] },
      };
      await jetstream(nc).publish(subjects.host(t.ams.hostId!).observation('status.process'), JSON.stringify(obs), { msgID: observationMsgId(obs) });
      await eventually(async () => (await t.api.get('/api/v1/health')).body.components.observations, (o) => o.stale > staleBefore, 'the observation refused');
    } finally {
      await nc.close();
    }
    expect((await t.status(security)).process_status).toBe(row);
    expect((await t.history(security)).some((h) => h.details?.note === 'from a fenced supervisor')).toBe(false);
  });
});

describe('an observation that cannot be applied', () => {
  it("is skipped and counted, and the host's next observation is applied without waiting for it", async () => {
    const hostId = `bad-${Date.now().toString(36)}`;
    const creds = await t.ams.broker.issuer.issueSupervisor(hostId);
    const nc = await connect({ servers: t.ams.broker.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds.creds)), inboxPrefix: subjects.host(hostId).inboxPrefix });
    const observations = async () => (await t.api.get('/api/v1/health')).body.components.observations as { failed: number };
    const failedBefore = (await observations()).failed;
    try {
      const js = jetstream(nc);
      const send = async (seq: number, kind: string, body: unknown) => {
        const obs = { v: 1, host: hostId, epoch: 1, seq, at: new Date().toISOString(), kind, body };
        await js.publish(subjects.host(hostId).observation(kind), JSON.stringify(obs), { msgID: observationMsgId(obs) });
      };
      await send(1, 'host.hello', { name: 'bad', address: null, version: '1', pid: 1, started_at: new Date().toISOString(), agents_dir: '/nowhere' });
      // PostgreSQL's jsonb cannot hold NUL: this note's history row can never be written.
      await send(2, 'status.note', { agent_id: security, event: 'noted', details: { note: 'before\u0000' } });
      await send(3, 'status.note', { agent_id: security, event: 'noted', details: { note: 'after the one that failed' } });
      // Before, the host's position stayed before the failed one and the next waited 30 s as a gap.
      await eventually(async () => (await t.history(security)).some((h) => h.details?.note === 'after the one that failed'), Boolean, 'the next observation applied', 20_000, 200);
    } finally {
      await nc.close();
    }
    expect((await observations()).failed).toBe(failedBefore + 1);
    expect(Number((await t.ams.db.knex('hosts').where({ id: hostId }).first()).applied_seq)).toBe(3);
  });
});

describe('a heartbeat interval changed under a running agent', () => {
  it('raises no warning or critical, rolls nothing back and restarts nothing (long -> short -> long)', async () => {
    await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 6 });
    const running = await t.waitStatus(security, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'running and healthy');
    const since = new Date().toISOString();
    // Let the last heartbeat (sent under the long interval) grow older than three short intervals.
    await eventually(async () => t.status(security), (s) => s.last_heartbeat !== null && Date.now() - ms(s.last_heartbeat) > 3500, 'a heartbeat older than 3.5 s', 20_000);
    const short = await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 1 });
    expect(short.body.apply).toMatchObject({ status: 'applied' });
    // A few short intervals pass with heartbeats; then back to the long one.
    await eventually(async () => t.status(security), (s) => s.last_heartbeat !== null && ms(s.last_heartbeat) > Date.now() - 1500, 'heartbeats at the short interval');
    await new Promise((r) => setTimeout(r, 3000));
    const long = await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 6 });
    expect(long.body.apply).toMatchObject({ status: 'applied' });
    await new Promise((r) => setTimeout(r, 3000));
    const after = await t.status(security);
    expect(after).toMatchObject({ process_status: 'running', pid: running.pid, health_status: 'healthy' });
    const history = (await t.history(security)).filter((h) => h.created_at >= since);
    expect(history.filter((h) => h.event_type === 'health_changed').map((h) => h.to_status)).toEqual([]);
    expect(history.map((h) => h.event_type)).not.toContain('degraded');
    expect(history.map((h) => h.event_type)).not.toContain('config_rolled_back');
    expect(history.map((h) => h.event_type)).not.toContain('process_exited');
    const applied = history.filter((h) => h.event_type === 'config_applied').map((h) => h.details.version);
    expect(applied).toEqual(expect.arrayContaining([short.body.version, long.body.version]));
  });
});
