// Lifecycle with real agent processes: start, stop and restart of the sample SecurityAgent,
// the exact environment it gets, its output captured, graceful stop against SIGKILL
// escalation, 409s naming the current state, agents stopped when their package goes away or
// they are disabled or deleted, and authorization on the new routes.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, FIXTURE_AGENTS, processesOf, SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { validPackage } from '../helpers/packages.js';
import { createAgent } from '../helpers/factories.js';
import { eventually } from '../helpers/wait.js';
import type { AmsEvent } from '../../server/events/bus.js';

// Plain scripts (no SDK, never connect): one ignores SIGTERM, one writes output of each kind.
const STUBBORN = "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n";
const READY = "console.log('ready');\nsetInterval(() => {}, 1000);\n";
const CHATTY = [
  "console.log('plain line on stdout');",
  "console.error('plain line on stderr');",
  "console.log(JSON.stringify({ level: 'warn', msg: 'structured warning', time: '2026-01-02T03:04:05.000Z', disk_free_mb: 12 }));",
  "console.log(JSON.stringify({ level: 50, message: 'pino error', context: { code: 'E42' } }));",
  'setInterval(() => {}, 1000);',
].join('\n');

let t: SupervisedAms;
let security: string;
const events: AmsEvent[] = [];
beforeAll(async () => {
  t = await startSupervisedAms(
    {
      security: `${SAMPLE_AGENTS}/security`,
      'ignore-sigterm': `${FIXTURE_AGENTS}/ignore-sigterm`,
      stubborn: validPackage('StubbornAgent', '1.0.0', { type: 'stubborn', files: { 'agent.mjs': STUBBORN } }),
      chatty: validPackage('ChattyAgent', '1.0.0', { type: 'chatty', files: { 'agent.mjs': CHATTY } }),
      doomed: validPackage('DoomedAgent', '1.0.0', { type: 'doomed', files: { 'agent.mjs': READY } }),
      vanishing: validPackage('VanishingAgent', '1.0.0', { type: 'vanishing', files: { 'agent.mjs': READY } }),
      broken: validPackage('BrokenAgent', '1.0.0', { type: 'broken', command: './missing-binary' }),
    },
    // Nothing of the AMS's own environment may reach an agent.
    { env: { OPMAS_TEST_MARKER_SECRET: 'must-not-leak-to-agents' } },
  );
  t.ams.services.events.subscribe((e) => events.push(e));
  security = await t.idOf('SecurityAgent');
  expect((await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 1 })).status).toBe(200);
});
afterAll(() => t.stop());

const startAndWait = async (id: string) => {
  const res = await t.api.post(`/api/v1/agents/${id}/start`);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return t.waitStatus(id, (s) => s.process_status === 'running', 'running');
};

/** For plain scripts: running, and past their start-up (they print `ready`), so a signal meets their handlers. */
const startReady = async (id: string) => {
  const seen = await t.ams.db.knex('agent_logs').where({ agent_id: id, message: 'ready' }).count({ n: '*' }).first();
  const running = await startAndWait(id);
  await eventually(() => t.ams.db.knex('agent_logs').where({ agent_id: id, message: 'ready' }).count({ n: '*' }).first(), (r) => Number(r?.n) > Number(seen?.n), 'ready');
  return running;
};

describe('start, stop, restart', () => {
  it('starts the sample agent, which heartbeats; stops it with the stop request (exit 0, no signal)', async () => {
    const res = await t.api.post(`/api/v1/agents/${security}/start`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: security, status: expect.stringMatching(/^(starting|running)$/) });
    const running = await t.waitStatus(security, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'running and healthy');
    expect(alive(running.pid)).toBe(true);
    expect(processesOf(security)).toEqual([running.pid]);
    expect(running.start_time).toEqual(expect.any(String));

    const stop = await t.api.post(`/api/v1/agents/${security}/stop`);
    expect(stop.status).toBe(202);
    const stopped = await t.waitStatus(security, (s) => s.process_status === 'stopped' && s.health_status === 'unknown', 'stopped, nothing heard any more');
    expect(stopped).toMatchObject({ exit_code: 0, exit_signal: null, pid: null });
    expect(alive(running.pid)).toBe(false);
    const history = await t.history(security);
    const steps = history.map((h) => `${h.event_type}:${h.from_status}->${h.to_status}`);
    expect(steps).toEqual(
      expect.arrayContaining(['start_requested:registered->starting', 'process_started:starting->running', 'stop_requested:running->stopping', 'process_stopped:stopping->stopped']),
    );
    // The cause names the operator and the request's correlation id, which the audit row carries too.
    const requested = history.find((h) => h.event_type === 'stop_requested');
    expect(requested.details).toMatchObject({ cause: 'operator', action: 'stop', actor: 'admin', correlation_id: stop.headers.get('x-request-id') });
    const audit = await t.api.get(`/api/v1/audit?action=agent.stop&target=${security}`);
    expect(audit.body.items[0].correlation_id).toBe(stop.headers.get('x-request-id'));
    expect(history.find((h) => h.event_type === 'process_stopped').details).toMatchObject({ exit_code: 0, signal: null, graceful: true, escalation: 'none', stop_requested: true });
    expect(history.find((h) => h.event_type === 'process_started').details).toMatchObject({ pid: running.pid, command: 'node agent.mjs' });
  });

  it('gives the agent exactly its environment: no AMS variables, a 0600 creds file with fresh credentials', async () => {
    const running = await startAndWait(security);
    const env = Object.fromEntries(
      fs.readFileSync(`/proc/${running.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    expect(Object.keys(env).sort()).toEqual(['HOME', 'OPMAS_AGENT_ID', 'OPMAS_AGENT_SDK', 'OPMAS_CONFIG', 'OPMAS_NATS_CREDS', 'OPMAS_NATS_URL', 'PATH'].sort());
    expect(env.OPMAS_AGENT_ID).toBe(security);
    expect(env.OPMAS_NATS_URL).toBe(t.ams.broker.url);
    expect(JSON.parse(env.OPMAS_CONFIG)).toEqual((await t.api.get(`/api/v1/agents/${security}/config`)).body.config);
    expect(fs.statSync(env.OPMAS_NATS_CREDS).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(env.OPMAS_NATS_CREDS)).mode & 0o777).toBe(0o700);
    expect(env.OPMAS_NATS_CREDS.startsWith(path.join(t.dataDir, 'run', 'agents'))).toBe(true);
    // Live keys: the one this start uses, and the spare issued for the next start (kept in
    // memory only); the keys of the earlier start are revoked once this process connected.
    const jwt = /-----BEGIN NATS USER JWT-----\s*\n([^\n]+)/.exec(fs.readFileSync(env.OPMAS_NATS_CREDS, 'utf8'))![1];
    const used = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).sub as string;
    const live = await eventually(
      () => t.ams.db.knex('agent_credentials').where({ agent_id: security }).whereNull('revoked_at').pluck('public_key'),
      (keys) => keys.length === 2,
      'older credentials revoked',
    );
    expect(live).toContain(used);
    // Revocations are the database's; the broker enforces them once each is marked applied.
    const revoked = await eventually(
      () => t.ams.db.knex('agent_credentials').where({ agent_id: security }).whereNotNull('revoked_at').select('public_key', 'revocation_applied_at'),
      (rows) => rows.length > 0 && rows.every((r: { revocation_applied_at: Date | null }) => r.revocation_applied_at !== null),
      'the revocations applied',
    ).then((rows) => rows.map((r: { public_key: string }) => r.public_key));
    expect(revoked.every((k: string) => t.ams.broker.issuer.isRevoked(k))).toBe(true);
    const { cmdline } = { cmdline: fs.readFileSync(`/proc/${running.pid}/cmdline`, 'utf8').split('\0') };
    expect(cmdline[0]).toBe(process.execPath);
    expect(running.pid).toBeGreaterThan(0);
  });

  it('restarts a running agent as a new process, and refuses what the state machine does not allow (409 naming the state)', async () => {
    const before = await t.waitStatus(security, (s) => s.process_status === 'running', 'running');
    const again = await t.api.post(`/api/v1/agents/${security}/start`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'invalid_transition', details: { current: 'running', requested: 'starting' } });
    expect(again.body.error.message).toContain('running');

    const restart = await t.api.post(`/api/v1/agents/${security}/restart`);
    expect(restart.status).toBe(202);
    const after = await t.waitStatus(security, (s) => s.process_status === 'running' && s.pid !== before.pid && s.health_status === 'healthy', 'running again as a new process');
    expect(alive(before.pid)).toBe(false);
    expect(processesOf(security)).toEqual([after.pid]);

    await t.api.post(`/api/v1/agents/${security}/stop`);
    await t.waitStatus(security, (s) => s.process_status === 'stopped', 'stopped');
    const stopAgain = await t.api.post(`/api/v1/agents/${security}/stop`);
    expect(stopAgain.status).toBe(409);
    expect(stopAgain.body.error).toMatchObject({ code: 'invalid_transition', details: { current: 'stopped', requested: 'stopping' } });
    expect(stopAgain.body.error.message).toContain('stopped');
  });

  it('cannot start an agent without a runnable package (409) and leaves its status alone', async () => {
    const apiAgent = await createAgent(t.api);
    const res = await t.api.post(`/api/v1/agents/${apiAgent.id}/start`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('package_not_found');
    const broken = await t.idOf('BrokenAgent');
    const bad = await t.api.post(`/api/v1/agents/${broken}/start`);
    expect(bad.status).toBe(409);
    expect(bad.body.error).toMatchObject({ code: 'command_not_runnable' });
    expect((await t.status(broken)).process_status).toBe('registered');
    expect((await t.api.post('/api/v1/agents/security-00000000-0000-4000-8000-000000000000/start')).status).toBe(404);
  });
});

describe('stopping', () => {
  it('SIGKILLs an agent that ignores SIGTERM after stop_timeout; a plain process ends on SIGTERM', async () => {
    const stubborn = await t.idOf('StubbornAgent');
    await t.api.put(`/api/v1/agents/${stubborn}/config`, { stop_grace_period: 0.2, stop_timeout: 0.8 });
    const running = await startReady(stubborn);
    await t.api.post(`/api/v1/agents/${stubborn}/stop`);
    const stopped = await t.waitStatus(stubborn, (s) => s.process_status === 'stopped', 'stopped');
    expect(stopped).toMatchObject({ exit_signal: 'SIGKILL', exit_code: null });
    expect(alive(running.pid)).toBe(false);
    const row = (await t.history(stubborn)).find((h) => h.event_type === 'process_stopped');
    expect(row.details).toMatchObject({ graceful: false, escalation: 'SIGKILL', signal: 'SIGKILL', stop_requested: false });
    // It was asked with SIGTERM first: its own log line says it ignored it.
    const lines = await eventually(() => t.ams.db.knex('agent_logs').where({ agent_id: stubborn }).pluck('message'), (m) => m.includes('ignoring SIGTERM'), 'its output');
    expect(lines).toContain('ignoring SIGTERM');

    const doomed = await t.idOf('DoomedAgent');
    await startReady(doomed);
    await t.api.post(`/api/v1/agents/${doomed}/stop`);
    await t.waitStatus(doomed, (s) => s.process_status === 'stopped', 'stopped');
    const ended = (await t.history(doomed)).find((h) => h.event_type === 'process_stopped');
    expect(ended.details).toMatchObject({ graceful: true, escalation: 'SIGTERM', signal: 'SIGTERM' });
  });

  it('stops the SIGTERM-ignoring fixture with the stop request; a stop asked while the broker is down takes effect when it is back', async () => {
    const id = await t.idOf('IgnoreSigtermAgent');
    // A grace period long enough to outlast a broker blip (each revocation reloads nats-server).
    await t.api.put(`/api/v1/agents/${id}/config`, { stop_grace_period: 3, stop_timeout: 5, heartbeat_interval: 1 });
    await startAndWait(id);
    await t.waitStatus(id, (s) => s.health_status === 'healthy', 'connected');
    await t.api.post(`/api/v1/agents/${id}/stop`);
    await t.waitStatus(id, (s) => s.process_status === 'stopped', 'stopped');
    expect((await t.history(id)).filter((h) => h.event_type === 'process_stopped').at(-1).details).toMatchObject({ graceful: true, escalation: 'none', exit_code: 0 });

    const running = await startAndWait(id);
    await t.waitStatus(id, (s) => s.health_status === 'healthy', 'connected');
    // The supervisor is reached over NATS only: the intent is recorded now and carried out when it is back.
    await t.ams.broker.server!.stop();
    try {
      const res = await t.api.post(`/api/v1/agents/${id}/stop`);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ desired_state: 'stopped', status: 'stopping' });
      expect(alive(running.pid)).toBe(true);
    } finally {
      await t.ams.broker.server!.start();
    }
    await t.waitStatus(id, (s) => s.process_status === 'stopped', 'stopped once the broker is back');
    expect((await t.history(id)).filter((h) => h.event_type === 'process_stopped').at(-1).details).toMatchObject({ graceful: true, escalation: 'none', exit_code: 0 });
    expect(alive(running.pid)).toBe(false);
    await eventually(async () => t.ams.broker.connection.status(), (s) => s === 'connected', 'the broker back');
  });
});

describe('output', () => {
  it('stores stdout/stderr lines in agent_logs (JSON lines parsed) and publishes log.line events', async () => {
    const chatty = await t.idOf('ChattyAgent');
    await startAndWait(chatty);
    const rows = await eventually(
      () => t.ams.db.knex('agent_logs').where({ agent_id: chatty }).orderBy('id').select('level', 'message', 'context', 'source', 'timestamp'),
      (r) => r.length >= 4,
      'four lines stored',
    );
    const by = (m: string) => rows.find((r: { message: string }) => r.message === m);
    expect(by('plain line on stdout')).toMatchObject({ level: 'INFO', source: 'stdout', context: null });
    expect(by('plain line on stderr')).toMatchObject({ level: 'ERROR', source: 'stderr' });
    expect(by('structured warning')).toMatchObject({ level: 'WARNING', source: 'stdout', context: { disk_free_mb: 12 } });
    expect(by('structured warning').timestamp.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(by('pino error')).toMatchObject({ level: 'ERROR', context: { code: 'E42' } });
    // Live events reach the bus through the event stream, a moment after the rows are stored.
    const published = await eventually(
      async () => events.filter((e) => e.type === 'log.line' && e.agent_id === chatty).map((e) => (e as { message: string }).message),
      (m) => m.includes('plain line on stdout') && m.includes('structured warning'),
      'the log.line events',
    );
    expect(published).toEqual(expect.arrayContaining(['plain line on stdout', 'structured warning']));
    await t.api.post(`/api/v1/agents/${chatty}/stop`);
    await t.waitStatus(chatty, (s) => s.process_status === 'stopped', 'stopped');
  });

  it('stores an SDK log line once (from NATS), not again from its stderr copy', async () => {
    await startAndWait(security);
    const logs = await eventually(
      () => t.ams.db.knex('agent_logs').where({ agent_id: security }).select('message', 'source'),
      (r) => r.some((x: { source: string }) => x.source === 'nats'),
      'an SDK log line over NATS',
    );
    const viaNats = logs.filter((l: { source: string }) => l.source === 'nats').map((l: { message: string }) => l.message);
    const viaStderr = logs.filter((l: { source: string }) => l.source === 'stderr').map((l: { message: string }) => l.message);
    expect(viaNats.length).toBeGreaterThan(0);
    for (const m of viaNats) expect(viaStderr).not.toContain(m);
    await t.api.post(`/api/v1/agents/${security}/stop`);
    await t.waitStatus(security, (s) => s.process_status === 'stopped', 'stopped');
  });
});

describe('agents that go away', () => {
  it('are stopped when their package is removed, disabled or deleted', async () => {
    const vanishing = await t.idOf('VanishingAgent');
    const first = await startReady(vanishing);
    fs.rmSync(path.join(t.agentsDir, 'vanishing'), { recursive: true });
    await t.waitStatus(vanishing, (s) => s.process_status === 'stopped', 'stopped after its package was removed');
    expect(alive(first.pid)).toBe(false);
    expect((await t.history(vanishing)).find((h) => h.event_type === 'stop_requested').details).toMatchObject({ cause: 'package_removed', path: 'vanishing' });

    const doomed = await t.idOf('DoomedAgent');
    const second = await startReady(doomed);
    expect((await t.api.put(`/api/v1/agents/${doomed}`, { disabled: true })).status).toBe(200);
    expect((await t.status(doomed)).process_status).toBe('stopped');
    expect(alive(second.pid)).toBe(false);
    const refused = await t.api.post(`/api/v1/agents/${doomed}/start`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('agent_disabled');
    await t.api.put(`/api/v1/agents/${doomed}`, { disabled: false });

    const third = await startAndWait(doomed);
    expect((await t.api.delete(`/api/v1/agents/${doomed}`)).status).toBe(204);
    expect(alive(third.pid)).toBe(false);
    expect(fs.existsSync(path.join(t.dataDir, 'run', 'agents', `${doomed}.creds`))).toBe(false);
  });
});

describe('authorization on the lifecycle routes', () => {
  it('read-only reads but may not control; an agent-bound principal reads only its own agent', async () => {
    const ro = await t.userWith('read-only');
    expect((await ro.api.get(`/api/v1/agents/${security}/status`)).status).toBe(200);
    expect((await ro.api.get(`/api/v1/agents/${security}/status/history`)).status).toBe(200);
    expect((await ro.api.get(`/api/v1/agents/${security}/health`)).status).toBe(200);
    expect((await ro.api.get('/api/v1/status')).status).toBe(200);
    for (const action of ['start', 'stop', 'restart']) {
      const res = await ro.api.post(`/api/v1/agents/${security}/${action}`);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    const other = await t.idOf('StubbornAgent');
    const bound = await t.userWith('agent', security);
    expect((await bound.api.get(`/api/v1/agents/${security}/status`)).status).toBe(200);
    expect((await bound.api.get(`/api/v1/agents/${security}/health`)).status).toBe(200);
    expect((await bound.api.get(`/api/v1/agents/${other}/status`)).status).toBe(403);
    expect((await bound.api.get('/api/v1/status')).status).toBe(403);
    expect((await bound.api.post(`/api/v1/agents/${security}/start`)).status).toBe(403);
    const op = await t.userWith('operator');
    const started = await op.api.post(`/api/v1/agents/${security}/start`);
    expect(started.status).toBe(202);
    await t.waitStatus(security, (s) => s.process_status === 'running', 'running');
    expect((await op.api.post(`/api/v1/agents/${security}/stop`)).status).toBe(202);
    await t.waitStatus(security, (s) => s.process_status === 'stopped', 'stopped');
  });
});

describe('status, history, health and the fleet', () => {
  it('answers the status and health contracts and pages history by time and event type', async () => {
    const status = await t.status(security);
    expect(Object.keys(status)).toEqual(
      expect.arrayContaining(['agent_id', 'process_status', 'health_status', 'recovery_status', 'pid', 'start_time', 'last_heartbeat', 'last_error', 'uptime_s', 'reported_status', 'metrics']),
    );
    const health = (await t.api.get(`/api/v1/agents/${security}/health`)).body;
    expect(health).toMatchObject({ agent_id: security, health: 'unknown', reasons: [], heartbeat_interval: 1 });

    const all = await t.history(security);
    const page1 = await t.api.get(`/api/v1/agents/${security}/status/history?limit=3`);
    expect(page1.body.items).toHaveLength(3);
    expect(page1.body.items.map((h: { id: number }) => h.id)).toEqual(all.slice(-3).reverse().map((h) => h.id));
    const page2 = await t.api.get(`/api/v1/agents/${security}/status/history?limit=3&cursor=${page1.body.next_cursor}`);
    expect(page2.body.items.map((h: { id: number }) => h.id)).toEqual(all.slice(-6, -3).reverse().map((h) => h.id));
    const started = await t.api.get(`/api/v1/agents/${security}/status/history?event_type=process_started`);
    expect(started.body.items.length).toBe(all.filter((h) => h.event_type === 'process_started').length);
    expect(started.body.items.every((h: { event_type: string }) => h.event_type === 'process_started')).toBe(true);
    const middle = all[Math.floor(all.length / 2)];
    const fromMiddle = await t.api.get(`/api/v1/agents/${security}/status/history?limit=500&from=${encodeURIComponent(middle.created_at)}`);
    expect(fromMiddle.body.items.every((h: { created_at: string }) => h.created_at >= middle.created_at)).toBe(true);
    const bad = await t.api.get(`/api/v1/agents/${security}/status/history?event_type=exploded&from=yesterday&limit=0`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['event_type', 'from', 'limit']);
  });

  it('counts the fleet by status, type and label, with the dependencies', async () => {
    await t.api.put(`/api/v1/agents/${security}`, { labels: { site: 'hq' } });
    const res = await t.api.get('/api/v1/status');
    expect(res.status).toBe(200);
    const agents = (await t.api.get('/api/v1/agents?limit=500')).body.items;
    expect(res.body.agents.total).toBe(agents.length);
    const stoppedCount = agents.filter((a: { status: string }) => a.status === 'stopped').length;
    expect(res.body.agents.process.stopped).toBe(stoppedCount);
    const securityAgents = agents.filter((a: { agent_type: string }) => a.agent_type === 'security');
    expect(res.body.by_type.security).toMatchObject({ total: securityAgents.length });
    expect(res.body.by_type.stubborn).toMatchObject({ total: 1, process: { stopped: 1 }, health: { unknown: 1 }, recovery: { none: 1 } });
    expect(res.body.by_label['site:hq']).toMatchObject({ total: 1, process: { stopped: 1 } });
    expect(res.body.dependencies).toMatchObject({ database: { status: 'ok' }, broker: { status: 'ok' }, supervisor: { status: 'ok' } });
  });
});
