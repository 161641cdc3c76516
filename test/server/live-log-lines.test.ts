// A log line an agent sends over NATS is stored and published on the event bus as log.line,
// so the live stream (and the console's follow mode) sees it, not only stdout/stderr lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '../../server/broker/index.js';
import type { AmsEvent } from '../../server/events/bus.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { agentBody } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { recordCreds } from '../helpers/creds.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
let nc: NatsConnection | undefined;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(async () => {
  await nc?.close().catch(() => undefined);
  await t.stop();
});

describe('log lines over NATS', () => {
  it('are published on the event bus as they arrive, and stored', async () => {
    const token = await t.api.post('/api/v1/discovery-tokens', {});
    recordSecret(token.body.token);
    const res = await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: token.body.token });
    expect(res.status).toBe(201);
    recordCreds(res.body.nats.creds);
    const id: string = res.body.agent_id;
    const seen: AmsEvent[] = [];
    const unsubscribe = t.ams.services.events.subscribe((e) => e.type === 'log.line' && seen.push(e));
    nc = await connectWithCreds(res.body.nats.url, res.body.nats.creds, { inboxPrefix: subjects.agent(id).inboxPrefix, maxReconnectAttempts: 0 });
    const timestamp = new Date().toISOString();
    nc.publish(subjects.agent(id).logs, new TextEncoder().encode(JSON.stringify({ level: 'WARNING', message: 'queue almost full', timestamp, context: { depth: 97 } })));
    await nc.flush();
    await eventually(async () => seen.length, (n) => n === 1, 'the log.line event');
    unsubscribe();
    expect(seen[0]).toMatchObject({ type: 'log.line', agent_id: id, level: 'WARNING', message: 'queue almost full', timestamp, source: 'nats', context: { depth: 97 } });
    const stored = await eventually(() => t.api.get(`/api/v1/agents/${id}/logs`), (r) => r.body.items?.length === 1, 'the stored line');
    expect(stored.body.items[0]).toMatchObject({ message: 'queue almost full', source: 'nats' });
  });

  it('produced while the broker connection is being re-established reach the stream once it is back', async () => {
    const id = (await t.api.post('/api/v1/agents', agentBody())).body.agent_id as string;
    const seen: AmsEvent[] = [];
    const unsubscribe = t.ams.services.events.subscribe((e) => e.type === 'log.line' && e.agent_id === id && seen.push(e));
    // What a host-mode revocation does for a moment: nats-server goes away and comes back.
    await t.ams.broker.server!.stop();
    await eventually(async () => t.ams.broker.connection.status(), (s) => s !== 'connected', 'the connection lost');
    try {
      for (const message of ['first while away', 'second while away']) {
        t.ams.services.events.publish({ type: 'log.line', agent_id: id, level: 'INFO', message, timestamp: new Date().toISOString(), source: 'stdout', context: null } as never);
      }
    } finally {
      await t.ams.broker.server!.start();
    }
    await eventually(async () => seen.map((e) => (e as { message: string }).message), (m) => m.length === 2, 'both lines on the bus', 30_000);
    unsubscribe();
    expect(seen.map((e) => (e as { message: string }).message)).toEqual(['first while away', 'second while away']);
  });
});
