// The broker going away and coming back: nats-server killed with SIGKILL is restarted by the
// host-mode supervisor with the same address, the AMS connection and a real agent reconnect and
// carry on; a stopped broker answers 503 broker_unavailable; a missing binary is reported, not
// fatal; keys and revocations survive an AMS restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { errors as natsErrors } from '@nats-io/transport-node';
import type { AgentMessage, BrokerConnectionStatus, NatsServerState } from '../../server/broker/index.js';
import { startBroker } from '../../server/broker/index.js';
import type { HeartbeatBody } from '../../server/broker/protocol.js';
import { subjects } from '../../server/broker/subjects.js';
import { createLogger } from '../../server/logger.js';
import { connectWithCreds, readLog, startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';
import { SAMPLE_AGENTS, killAllAgents, spawnAgent } from '../helpers/agents.js';

describe('nats-server killed', () => {
  let tb: TestBroker;
  const heartbeats: AgentMessage<HeartbeatBody>[] = [];
  const serverStates: NatsServerState[] = [];
  const connectionStates: BrokerConnectionStatus[] = [];

  beforeAll(async () => {
    tb = await startTestBroker();
    tb.broker.consume({ heartbeat: (m) => void heartbeats.push(m) });
    tb.broker.server!.onStateChange((s) => serverStates.push(s));
    tb.broker.connection.onStatus((s) => connectionStates.push(s));
  });
  afterAll(async () => {
    await killAllAgents();
    await tb?.stop();
  });

  it('is restarted at the same address, and the AMS and an agent reconnect and continue', async () => {
    const agent = await spawnAgent(tb, path.join(SAMPLE_AGENTS, 'security'), { config: { heartbeat_interval: 0.2 } });
    const of = () => heartbeats.filter((h) => h.agentId === agent.agentId);
    await waitFor(() => of().length >= 2, 'heartbeats before the kill');
    const server = tb.broker.server!;
    const firstPid = server.info().pid!;
    const url = tb.broker.url;

    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => serverStates.includes('restarting'), 'the supervisor noticing the exit');
    await waitFor(() => server.state() === 'running' && server.info().pid !== firstPid, 'nats-server running again');
    expect(server.info().restarts).toBe(1);
    expect(tb.broker.url).toBe(url);

    await waitFor(() => tb.broker.connection.status() === 'connected', 'the AMS connection back');
    expect(connectionStates).toContain('reconnecting');
    const seen = of().length;
    await waitFor(() => of().length >= seen + 3, `agent heartbeats after the restart (agent stderr: ${agent.stderr()})`);
    expect(await tb.broker.connection.request(subjects.agent(agent.agentId).control, { action: 'ping' }, 5000)).toEqual({ ok: true });
    expect(agent.child.exitCode).toBeNull();

    const health = await tb.broker.health();
    expect(health).toMatchObject({ status: 'ok', mode: 'host', connection: 'connected', server: { state: 'running', restarts: 1 } });
    expect(health.latency_ms).toBeGreaterThanOrEqual(0);
    expect(readLog(tb.logFile)).toContain('nats-server exited unexpectedly; restarting');
  });
});

describe('nats-server stopped', () => {
  let tb: TestBroker;
  beforeAll(async () => {
    tb = await startTestBroker();
  });
  afterAll(async () => {
    await killAllAgents();
    await tb?.stop();
  });

  it('makes health report the broker down and requests fail with broker_unavailable, until it is back', async () => {
    await tb.broker.server!.stop();
    await waitFor(() => tb.broker.connection.status() === 'reconnecting', 'the AMS noticing');
    const health = await tb.broker.health();
    expect(health).toMatchObject({ status: 'down', latency_ms: null, connection: 'reconnecting', server: { state: 'stopped' } });
    expect(health.error).toMatch(/nats-server is stopped/);
    await expect(tb.broker.connection.request(subjects.agent('security-550e8400-e29b-41d4-a716-446655440000').control, { action: 'ping' }, 1000)).rejects.toMatchObject({
      code: 'broker_unavailable',
      status: 503,
    });
    expect(() => tb.broker.connection.publish('opmas.agents.x.control', {})).toThrow(/broker is unavailable/);

    await tb.broker.server!.start();
    await waitFor(() => tb.broker.connection.status() === 'connected', 'the AMS reconnecting');
    expect((await tb.broker.health()).status).toBe('ok');
  });

  it('holds a request made while reconnecting until the connection is back, within its time budget', async () => {
    // What a host-mode revocation does to every connection for a moment (a nats-server reload).
    const id = 'security-550e8400-e29b-41d4-a716-446655440001';
    const creds = await tb.broker.issuer.issueAgent({ agentId: id });
    const agent = await connectWithCreds(tb.url, creds.creds, { inboxPrefix: subjects.agent(id).inboxPrefix, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      agent.subscribe(subjects.agent(id).control, { callback: (_err, m) => void m.respond(JSON.stringify({ ok: true, action: m.json<{ action: string }>().action })) });
      await agent.flush();
      await tb.broker.server!.stop();
      await waitFor(() => tb.broker.connection.status() === 'reconnecting', 'the AMS noticing');
      const pending = tb.broker.connection.request(subjects.agent(id).control, { action: 'ping' }, 30_000);
      await tb.broker.server!.start();
      expect(await pending).toEqual({ ok: true, action: 'ping' });
    } finally {
      await agent.close();
    }
  });

  it('fails a request in flight when the connection drops, without waiting for its timeout', async () => {
    const id = 'security-550e8400-e29b-41d4-a716-446655440002';
    const creds = await tb.broker.issuer.issueAgent({ agentId: id });
    const agent = await connectWithCreds(tb.url, creds.creds, { inboxPrefix: subjects.agent(id).inboxPrefix, reconnect: false });
    // Heard, never answered: only the drop can end the request before its 60 s.
    let heard!: () => void;
    const asked = new Promise<void>((r) => (heard = r));
    agent.subscribe(subjects.agent(id).control, { callback: () => heard() });
    await agent.flush();
    const pending = tb.broker.connection.request(subjects.agent(id).control, { action: 'ping' }, 60_000);
    const outcome = pending.then(() => 'answered', (err: { code?: string }) => err.code ?? 'other');
    await asked;
    await tb.broker.server!.stop();
    try {
      expect(await outcome).toBe('broker_unavailable');
    } finally {
      await tb.broker.server!.start();
      await waitFor(() => tb.broker.connection.status() === 'connected', 'the AMS reconnecting');
      await agent.close().catch(() => undefined);
    }
  });

  it('still lets an agent stop cleanly on SIGTERM while the broker is away', async () => {
    const heartbeats: string[] = [];
    const stopConsuming = tb.broker.connection.subscribe(subjects.everyAgent.heartbeat, (m) => heartbeats.push(m.subject));
    const agent = await spawnAgent(tb, path.join(SAMPLE_AGENTS, 'security'));
    await waitFor(() => heartbeats.includes(subjects.agent(agent.agentId).heartbeat), 'the first heartbeat');
    stopConsuming();
    await tb.broker.server!.stop();
    await waitFor(() => agent.stderr().includes('lost the broker connection'), 'the agent noticing');
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    await tb.broker.server!.start();
  });
});

describe('nats-server missing', () => {
  it('does not stop the AMS: health names the problem and how to install it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-broker-'));
    const logFile = path.join(dataDir, 'ams.log');
    const broker = await startBroker({
      dataDir,
      logger: createLogger('info', pino.destination({ dest: logFile, sync: true })),
      env: { PATH: '/nonexistent' },
      mode: 'host',
      natsServerBin: path.join(dataDir, 'no-such-nats-server'),
    });
    try {
      expect(broker.server!.state()).toBe('down');
      const health = await broker.health();
      expect(health).toMatchObject({ status: 'down', connection: 'reconnecting', server: { state: 'down' } });
      expect(health.error).toMatch(/nats-server was not found.*apt-get install nats-server.*OPMAS_NATS_SERVER_BIN/);
      // Credentials can still be issued: the keys are local.
      const creds = await broker.issuer.issueAgent({ agentId: 'security-550e8400-e29b-41d4-a716-446655440000' });
      expect(creds.publicKey).toMatch(/^U/);
      expect(readLog(logFile)).toContain('nats-server did not start');
    } finally {
      await broker.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('AMS restart on the same data dir', () => {
  afterEach(killAllAgents);

  it('keeps the account, the port and the revocations', async () => {
    const first = await startTestBroker();
    const dataDir = first.dataDir;
    const account = first.broker.issuer.accountPublicKey;
    const url = first.url;
    const kept = await first.broker.issuer.issueAgent({ agentId: 'security-550e8400-e29b-41d4-a716-446655440000' });
    const revoked = await first.broker.issuer.issueAgent({ agentId: 'security-650e8400-e29b-41d4-a716-446655440000' });
    await first.broker.issuer.revoke(revoked.publicKey);
    await first.broker.stop();

    const second = await startTestBroker({ dataDir });
    try {
      expect(second.broker.issuer.accountPublicKey).toBe(account);
      expect(second.url).toBe(url);
      const nc = await connectWithCreds(second.url, kept.creds);
      await nc.close();
      await expect(connectWithCreds(second.url, revoked.creds, { reconnect: false })).rejects.toBeInstanceOf(natsErrors.AuthorizationError);
    } finally {
      await second.stop();
    }
  });
});
