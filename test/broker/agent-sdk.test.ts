// The agent SDK in real agent processes (the sample security agent and the fixtures) against a
// real nats-server: heartbeats, control requests, config updates, stop and SIGTERM, revocation.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMessage } from '../../server/broker/index.js';
import type { HeartbeatBody, LogBody, MetricsBody, StatusBody } from '../../server/broker/protocol.js';
import { subjects } from '../../server/broker/subjects.js';
import { startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';
import { FIXTURE_AGENTS, SAMPLE_AGENTS, killAllAgents, spawnAgent } from '../helpers/agents.js';

let tb: TestBroker;
const heartbeats: AgentMessage<HeartbeatBody>[] = [];
const statuses: AgentMessage<StatusBody>[] = [];
const metrics: AgentMessage<MetricsBody>[] = [];
const logs: AgentMessage<LogBody>[] = [];
const of = <T extends { agentId: string }>(list: T[], id: string) => list.filter((m) => m.agentId === id);

beforeAll(async () => {
  tb = await startTestBroker();
  tb.broker.consume({
    heartbeat: (m) => void heartbeats.push(m),
    status: (m) => void statuses.push(m),
    metrics: (m) => void metrics.push(m),
    logs: (m) => void logs.push(m),
  });
});

afterEach(killAllAgents);

afterAll(async () => {
  await tb?.stop();
});

const security = path.join(SAMPLE_AGENTS, 'security');
const control = (id: string, body: unknown) => tb.broker.connection.request(subjects.agent(id).control, body, 5000);

describe('agent SDK', () => {
  it('announces the agent: status ready, then heartbeats with agent_id, status, timestamp, uptime and metrics', async () => {
    const agent = await spawnAgent(tb, security, { config: { heartbeat_interval: 0.2 } });
    await waitFor(() => of(heartbeats, agent.agentId).length >= 3, `three heartbeats (stderr: ${agent.stderr()})`);
    const hb = of(heartbeats, agent.agentId)[0].body;
    expect(hb).toMatchObject({ agent_id: agent.agentId, status: 'ready' });
    expect(Date.parse(hb.timestamp)).not.toBeNaN();
    expect(hb.uptime).toBeGreaterThanOrEqual(0);
    expect(hb.metrics).toMatchObject({ events_processed: 0, events_failed: 0, processing_ms: 0, findings: 0 });
    expect(of(statuses, agent.agentId)[0].body.status).toBe('ready');
    await waitFor(() => of(metrics, agent.agentId).length > 0, 'a metrics message');
    // The sample agent declares its own numbers once; the runtime sends the declaration with its metrics.
    expect(of(metrics, agent.agentId)[0].body.meta).toEqual({
      findings: { kind: 'counter', unit: 'findings' },
      failed_logins: { kind: 'counter', unit: 'logins' },
      sudo_events: { kind: 'counter', unit: 'events' },
    });
    await waitFor(() => of(logs, agent.agentId).some((l) => l.body.message === 'SecurityAgent started'), 'the start log line');
  });

  it('answers ping, reload and config.update, applying a valid config and refusing an invalid one', async () => {
    // A long interval: after the first heartbeat, more only come from what the test does.
    const agent = await spawnAgent(tb, security, { config: { heartbeat_interval: 3600 } });
    await waitFor(() => of(heartbeats, agent.agentId).length >= 1, 'the first heartbeat');

    expect(await control(agent.agentId, { action: 'ping' })).toEqual({ ok: true });

    const before = of(heartbeats, agent.agentId).length;
    expect(await control(agent.agentId, { action: 'reload' })).toEqual({ ok: true });
    await waitFor(() => of(heartbeats, agent.agentId).length > before, 'the heartbeat that follows a reload');

    const bad = (await control(agent.agentId, { action: 'config.update', version: 2, config: { heartbeat_interval: 0, log_level: 'INFO' } })) as { ok: boolean; error?: string };
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/heartbeat_interval/);

    const ownRule = (await control(agent.agentId, { action: 'config.update', version: 2, config: { heartbeat_interval: 1, failed_login_threshold: -1 } })) as {
      ok: boolean;
      error?: string;
    };
    expect(ownRule).toEqual({ ok: false, error: expect.stringMatching(/failed_login_threshold/) });

    const malformed = (await control(agent.agentId, { action: 'config.update', version: 'two' })) as { ok: boolean; error?: string };
    expect(malformed.ok).toBe(false);
    expect((await control(agent.agentId, { action: 'dance' })) as { ok: boolean }).toMatchObject({ ok: false });

    // Nothing above was applied: the interval is still an hour.
    const afterRejected = of(heartbeats, agent.agentId).length;
    // The AMS's key rules allow 1 s at least (OPMAS_CONFIG at start is not checked, which lets other tests go faster).
    expect(await control(agent.agentId, { action: 'config.update', version: 3, config: { heartbeat_interval: 1, log_level: 'INFO' } })).toEqual({ ok: true });
    await waitFor(() => of(heartbeats, agent.agentId).length >= afterRejected + 3, 'heartbeats at the new interval');
    await waitFor(() => of(logs, agent.agentId).some((l) => l.body.message === 'configuration version 3 applied'), 'the applied log line');
    expect(of(logs, agent.agentId).some((l) => l.body.message === 'configuration version 2 applied')).toBe(false);

    const older = (await control(agent.agentId, { action: 'config.update', version: 1, config: { heartbeat_interval: 5 } })) as { ok: boolean; error?: string };
    expect(older).toEqual({ ok: false, error: expect.stringMatching(/older/) });
  });

  it('stops on a stop request: replies, says stopping, exits 0', async () => {
    const agent = await spawnAgent(tb, security);
    await waitFor(() => of(heartbeats, agent.agentId).length >= 1, 'the first heartbeat');
    expect(await control(agent.agentId, { action: 'stop' })).toEqual({ ok: true });
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => of(statuses, agent.agentId).some((s) => s.body.status === 'stopping'), 'the stopping status');
    expect(of(heartbeats, agent.agentId).at(-1)!.body.status).toBe('stopping');
  });

  it('stops gracefully on SIGTERM: final status stopping, exit code 0', async () => {
    const agent = await spawnAgent(tb, security);
    await waitFor(() => of(heartbeats, agent.agentId).length >= 1, 'the first heartbeat');
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    await waitFor(() => of(statuses, agent.agentId).some((s) => s.body.status === 'stopping' && s.body.detail === 'received SIGTERM'), 'the stopping status');
  });

  it('keeps running through SIGTERM when the agent says so (ignore-sigterm fixture)', async () => {
    const agent = await spawnAgent(tb, path.join(FIXTURE_AGENTS, 'ignore-sigterm'), { config: { heartbeat_interval: 0.2 } });
    await waitFor(() => of(heartbeats, agent.agentId).length >= 1, 'the first heartbeat');
    agent.kill('SIGTERM');
    await waitFor(() => of(logs, agent.agentId).some((l) => l.body.message === 'ignoring SIGTERM'), 'the agent noticing SIGTERM');
    const n = of(heartbeats, agent.agentId).length;
    await waitFor(() => of(heartbeats, agent.agentId).length >= n + 2, 'heartbeats after SIGTERM');
    expect(agent.child.exitCode).toBeNull();
  });

  it('exits 1 when its credentials are revoked', async () => {
    const agent = await spawnAgent(tb, security);
    await waitFor(() => of(heartbeats, agent.agentId).length >= 1, 'the first heartbeat');
    expect((await tb.broker.issuer.revoke(agent.creds.publicKey)).applied).toBe(true);
    expect((await agent.exited).code).toBe(1);
    expect(agent.stderr()).toMatch(/closed the connection for good/);
  });

  it('fails fast with a clear message when its environment is incomplete', async () => {
    const agent = await spawnAgent(tb, security, { env: { OPMAS_NATS_CREDS: '/nonexistent/agent.creds' } });
    expect((await agent.exited).code).not.toBe(0);
    expect(agent.stderr()).toMatch(/OPMAS_NATS_CREDS points to \/nonexistent\/agent.creds/);
  });

  it('runs the fixtures as described: crash-on-start exits 1, exit-after exits 3 after heartbeating, silent sends one heartbeat', async () => {
    const crash = await spawnAgent(tb, path.join(FIXTURE_AGENTS, 'crash-on-start'));
    expect((await crash.exited).code).toBe(1);

    const exitAfter = await spawnAgent(tb, path.join(FIXTURE_AGENTS, 'exit-after'), { config: { exit_after_s: 0.5 } });
    expect((await exitAfter.exited).code).toBe(3);
    await waitFor(() => of(heartbeats, exitAfter.agentId).length >= 1, 'its heartbeat before it exited');
    expect(of(statuses, exitAfter.agentId).some((st) => st.body.status === 'stopping')).toBe(false);

    const silent = await spawnAgent(tb, path.join(FIXTURE_AGENTS, 'silent'), { config: { heartbeat_interval: 0.1 } });
    await waitFor(() => of(heartbeats, silent.agentId).length === 1, 'the one heartbeat');
    // Still alive and answering, and still no second heartbeat after a reload (which makes other agents send one).
    expect(await control(silent.agentId, { action: 'ping' })).toEqual({ ok: true });
    expect(await control(silent.agentId, { action: 'reload' })).toEqual({ ok: true });
    expect(await control(silent.agentId, { action: 'ping' })).toEqual({ ok: true });
    expect(of(heartbeats, silent.agentId)).toHaveLength(1);
    expect(silent.child.exitCode).toBeNull();
  });
});
