// The sample agent packages as real processes: events published on their topics become
// findings on their findings topics, and their metrics count the work.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AgentMessage } from '../../server/broker/index.js';
import type { HeartbeatBody, MetricsBody } from '../../server/broker/protocol.js';
import { connectWithCreds, startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';
import { SAMPLE_AGENTS, killAllAgents, spawnAgent } from '../helpers/agents.js';

let tb: TestBroker;
let tool: NatsConnection;
const findings: Array<{ subject: string; body: Record<string, unknown> }> = [];
const heartbeats: AgentMessage<HeartbeatBody>[] = [];
const metrics: AgentMessage<MetricsBody>[] = [];

beforeAll(async () => {
  tb = await startTestBroker();
  tb.broker.consume({ heartbeat: (m) => void heartbeats.push(m), metrics: (m) => void metrics.push(m) });
  // A log shipper and findings reader: publishes logs.*, reads findings.*.
  const user = await tb.broker.issuer.issueUser('test-log-shipper', { pub: { allow: ['logs.>'] }, sub: { allow: ['findings.>', '_INBOX.>'] } });
  tool = await connectWithCreds(tb.url, user.creds);
  tool.subscribe('findings.>', { callback: (_err, msg) => void findings.push({ subject: msg.subject, body: msg.json() }) });
  await tool.flush();
});

afterEach(killAllAgents);

afterAll(async () => {
  await tool?.close();
  await tb?.stop();
});

const findingsOf = (agentId: string) => findings.filter((f) => f.body.agent_id === agentId);
const ready = (agentId: string) => waitFor(() => heartbeats.some((h) => h.agentId === agentId), `the first heartbeat of ${agentId}`);

describe('SecurityAgent', () => {
  it('flags failed logins, a brute-force burst and sudo from logs.auth and logs.security, and counts its work', async () => {
    const agent = await spawnAgent(tb, path.join(SAMPLE_AGENTS, 'security'), { config: { heartbeat_interval: 0.3, failed_login_threshold: 3 } });
    await ready(agent.agentId);
    const failed = (i: number) => ({ message: `Failed password for root from 203.0.113.7 port ${4000 + i} ssh2`, source_ip: '203.0.113.7', host: 'web-1' });
    for (let i = 0; i < 3; i++) tool.publish('logs.auth', JSON.stringify(failed(i)));
    tool.publish('logs.security', 'alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/sudo -i');
    tool.publish('logs.auth', JSON.stringify({ message: 'Accepted publickey for bob from 198.51.100.2' }));
    tool.publish('logs.auth', '42');
    await tool.flush();

    await waitFor(() => findingsOf(agent.agentId).some((f) => f.body.type === 'sudo'), `the sudo finding (agent stderr: ${agent.stderr()})`);
    const mine = findingsOf(agent.agentId);
    expect(mine.every((f) => f.subject === 'findings.security')).toBe(true);
    expect(mine.filter((f) => f.body.type === 'failed_login')).toHaveLength(3);
    expect(mine.filter((f) => f.body.type === 'brute_force')).toEqual([
      expect.objectContaining({ body: expect.objectContaining({ severity: 'high', source: '203.0.113.7', count: 3, topic: 'logs.auth' }) }),
    ]);
    expect(mine.find((f) => f.body.type === 'failed_login')!.body).toMatchObject({ severity: 'medium', source: '203.0.113.7', topic: 'logs.auth' });

    // Six events: five understood (one of them harmless), one without a message.
    await waitFor(() => metrics.some((m) => m.agentId === agent.agentId && m.body.events_processed === 6), 'metrics counting six events');
    const last = metrics.filter((m) => m.agentId === agent.agentId).at(-1)!.body;
    expect(last).toMatchObject({ events_processed: 6, events_failed: 1, failed_logins: 3, sudo_events: 1, findings: 5 });
    expect(last.processing_ms).toBeGreaterThan(0);
  });

  it('does not hear topics it is not subscribed to', async () => {
    const agent = await spawnAgent(tb, path.join(SAMPLE_AGENTS, 'security'), { config: { heartbeat_interval: 0.3 } });
    await ready(agent.agentId);
    tool.publish('logs.wifi', JSON.stringify({ message: 'Failed password for root' }));
    tool.publish('logs.auth', JSON.stringify({ message: 'Failed password for admin', source_ip: '192.0.2.1' }));
    await waitFor(() => findingsOf(agent.agentId).length >= 1, 'the logs.auth finding');
    await waitFor(() => metrics.some((m) => m.agentId === agent.agentId && m.body.events_processed >= 1), 'metrics after the event');
    expect(findingsOf(agent.agentId).map((f) => f.body.topic)).toEqual(['logs.auth']);
  });
});

describe('WifiAgent', () => {
  it('flags a deauthentication flood once per window', async () => {
    const agent = await spawnAgent(tb, path.join(SAMPLE_AGENTS, 'wifi'), { config: { heartbeat_interval: 0.3, deauth_threshold: 5, window_s: 600 } });
    await ready(agent.agentId);
    for (let i = 0; i < 8; i++) tool.publish('logs.wifi', JSON.stringify({ type: 'deauth', bssid: 'AA:BB:CC:DD:EE:01', client: `client-${i}` }));
    tool.publish('logs.wifi', 'deauth from 11:22:33:44:55:66 reason 7');
    await tool.flush();
    await waitFor(() => metrics.some((m) => m.agentId === agent.agentId && m.body.events_processed === 9), 'metrics counting nine events');
    const mine = findingsOf(agent.agentId);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ subject: 'findings.wifi', body: { type: 'deauth_flood', bssid: 'aa:bb:cc:dd:ee:01', count: 5, severity: 'high' } });
  });
});
