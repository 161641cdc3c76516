// The AMS consumer of agent messages through a real nats-server: valid messages reach the
// callbacks; malformed ones are dropped, counted per reason, logged once per agent per minute,
// and never stop the consumer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { newAgentId } from '../../server/domain/identifiers.js';
import { subjects } from '../../server/broker/subjects.js';
import type { AgentMessage, AgentMessageConsumer } from '../../server/broker/index.js';
import type { HeartbeatBody, LogBody, MetricsBody, StatusBody } from '../../server/broker/protocol.js';
import { connectWithCreds, readLog, startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';

let tb: TestBroker;
let consumer: AgentMessageConsumer;
let sender: NatsConnection;
const got = { heartbeat: [] as AgentMessage<HeartbeatBody>[], status: [] as AgentMessage<StatusBody>[], metrics: [] as AgentMessage<MetricsBody>[], logs: [] as AgentMessage<LogBody>[] };
let throwFor: string | undefined;

beforeAll(async () => {
  tb = await startTestBroker();
  consumer = tb.broker.consume({
    heartbeat: (m) => {
      if (m.agentId === throwFor) throw new Error('handler exploded');
      got.heartbeat.push(m);
    },
    status: (m) => void got.status.push(m),
    metrics: async (m) => {
      if (m.agentId === throwFor) throw new Error('async handler exploded');
      got.metrics.push(m);
    },
    logs: (m) => void got.logs.push(m),
  });
  // A tool user that may publish anything under opmas.agents, to send what a broken agent could.
  const tool = await tb.broker.issuer.issueUser('test-sender', { pub: { allow: ['opmas.agents.>'] }, sub: { allow: ['_INBOX.>'] } });
  sender = await connectWithCreds(tb.url, tool.creds);
  await tb.broker.connection.raw()!.flush();
});

afterAll(async () => {
  await sender?.close();
  await tb?.stop();
});

const send = (subject: string, body: unknown) => sender.publish(subject, typeof body === 'string' ? body : JSON.stringify(body));
const heartbeat = (id: string) => ({ agent_id: id, status: 'ready', timestamp: new Date().toISOString(), uptime: 1.5, metrics: { events_processed: 3 } });

describe('agent message consumer', () => {
  it('hands valid heartbeat, status, metrics and log messages to the callbacks', async () => {
    const id = newAgentId('security');
    const s = subjects.agent(id);
    const hb = heartbeat(id);
    send(s.heartbeat, hb);
    send(s.status, { status: 'degraded', detail: 'disk almost full' });
    send(s.metrics, { events_processed: 10, events_failed: 1, processing_ms: 12.5, queue_depth: 4 });
    send(s.logs, { level: 'WARNING', message: 'slow', timestamp: '2024-05-01T10:00:00Z', context: { ms: 900 } });
    await waitFor(() => got.logs.some((m) => m.agentId === id), 'the log message');
    expect(got.heartbeat.find((m) => m.agentId === id)!.body).toEqual(hb);
    expect(got.status.find((m) => m.agentId === id)!.body).toEqual({ status: 'degraded', detail: 'disk almost full' });
    expect(got.metrics.find((m) => m.agentId === id)!.body).toMatchObject({ queue_depth: 4, processing_ms: 12.5 });
    expect(got.logs.find((m) => m.agentId === id)!).toMatchObject({ kind: 'logs', subject: s.logs, body: { level: 'WARNING', context: { ms: 900 } } });
  });

  it('drops malformed messages, counting each reason, and carries on', async () => {
    const id = newAgentId('wifi');
    const other = newAgentId('wifi');
    const s = subjects.agent(id);
    const before = consumer.counters().dropped;
    send(s.heartbeat, '{not json');
    send(s.heartbeat, '\xff\xfe');
    send(s.heartbeat, { agent_id: id, status: 'dancing', timestamp: 'yesterday', uptime: -1 });
    send(s.heartbeat, heartbeat(other)); // claims to be another agent
    send(s.metrics, { events_processed: 'many' });
    send(s.logs, { level: 'LOUD', message: 'x', timestamp: new Date().toISOString() });
    send(s.status, { status: 'ready', agent_id: other });
    send(s.heartbeat, JSON.stringify({ ...heartbeat(id), padding: 'x'.repeat(70 * 1024) }));
    send('opmas.agents.not-an-id.heartbeat', heartbeat(id));
    send(s.heartbeat, '[]');
    send(s.heartbeat, 'null');
    // Then a valid one: the consumer is still working.
    send(s.heartbeat, heartbeat(id));
    await waitFor(() => got.heartbeat.some((m) => m.agentId === id), 'the valid heartbeat after the malformed ones');

    const after = consumer.counters().dropped;
    const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
    expect(delta).toEqual({ bad_subject: 1, too_large: 1, bad_json: 2, bad_shape: 5, agent_mismatch: 2, handler_failed: 0 });
    expect(got.heartbeat.filter((m) => m.agentId === id)).toHaveLength(1);
    expect(got.heartbeat.some((m) => m.agentId === other)).toBe(false);
  });

  it('logs dropped messages at most once per agent per minute', async () => {
    const noisy = newAgentId('security');
    const quiet = newAgentId('security');
    for (let i = 0; i < 5; i++) send(subjects.agent(noisy).heartbeat, '{broken');
    send(subjects.agent(quiet).heartbeat, '{broken');
    send(subjects.agent(noisy).heartbeat, heartbeat(noisy));
    await waitFor(() => got.heartbeat.some((m) => m.agentId === noisy), 'the valid heartbeat');
    await waitFor(() => readLog(tb.logFile).includes(quiet), 'the log line about the quiet agent');
    const lines = readLog(tb.logFile)
      .split('\n')
      .filter((l) => l.includes('dropped a malformed agent message'));
    expect(lines.filter((l) => l.includes(noisy))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(quiet))).toHaveLength(1);
  });

  it('survives callbacks that throw, counting them', async () => {
    const id = newAgentId('security');
    throwFor = id;
    const before = consumer.counters().dropped.handler_failed;
    send(subjects.agent(id).heartbeat, heartbeat(id));
    send(subjects.agent(id).metrics, { events_processed: 1, events_failed: 0, processing_ms: 1 });
    await waitFor(() => consumer.counters().dropped.handler_failed === before + 2, 'both failures counted');
    throwFor = undefined;
    send(subjects.agent(id).heartbeat, heartbeat(id));
    await waitFor(() => got.heartbeat.some((m) => m.agentId === id), 'a later heartbeat of the same agent');
    const health = await tb.broker.health();
    expect(health.dropped_messages?.handler_failed).toBeGreaterThanOrEqual(2);
  });
});
