// Host-mode nats-server with JWT auth, per-agent credentials and their scope, and revocation,
// against a real nats-server.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { decode, type User } from '@nats-io/jwt';
import { newAgentId } from '../../server/domain/identifiers.js';
import { subjects } from '../../server/broker/subjects.js';
import { connectWithCreds, readLog, startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';

let tb: TestBroker;
const open: NatsConnection[] = [];

beforeAll(async () => {
  tb = await startTestBroker();
});

afterAll(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await tb?.stop();
});

async function agentConnection(agentId: string, topics = ['logs.auth'], findings = 'findings.security') {
  const creds = await tb.broker.issuer.issueAgent({ agentId, subscribedTopics: topics, findingsTopic: findings });
  const nc = await connectWithCreds(tb.url, creds.creds, { inboxPrefix: subjects.agent(agentId).inboxPrefix });
  open.push(nc);
  return { nc, creds };
}

/** The next permission violation the connection reports, for a subject. */
function nextViolation(nc: NatsConnection, subject: string): Promise<InstanceType<typeof natsErrors.PermissionViolationError>> {
  return (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error instanceof natsErrors.PermissionViolationError && s.error.subject === subject) return s.error;
    }
    throw new Error('connection closed without a permission violation');
  })();
}

describe('host-mode nats-server', () => {
  it('runs with JWT auth on loopback with JetStream under the data dir, and refuses unauthenticated clients', async () => {
    expect(tb.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(tb.broker.server!.state()).toBe('running');
    await expect(connect({ servers: tb.url, timeout: 3000, reconnect: false })).rejects.toBeInstanceOf(natsErrors.AuthorizationError);
    expect(fs.existsSync(path.join(tb.dataDir, 'nats', 'jetstream'))).toBe(true);
  });

  it('keeps the seeds in 0600 files and never logs them', async () => {
    const dir = path.join(tb.dataDir, 'nats');
    const seeds = ['operator.nk', 'system-account.nk', 'account.nk'].map((f) => path.join(dir, f));
    for (const file of seeds) {
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const log = readLog(tb.logFile);
    expect(log).toContain('nats-server started');
    for (const file of seeds) expect(log).not.toContain(fs.readFileSync(file, 'utf8').trim());
    const { creds } = await agentConnection(newAgentId('security'));
    expect(readLog(tb.logFile)).not.toContain(creds.seed);
    expect(readLog(tb.logFile)).not.toContain(creds.jwt);
  });

  it('issues agent users with exactly the permissions of DESIGN.md', async () => {
    const id = newAgentId('security');
    const creds = await tb.broker.issuer.issueAgent({ agentId: id, subscribedTopics: ['logs.security', 'logs.auth'], findingsTopic: 'findings.security' });
    const claims = decode<User>(creds.jwt);
    expect(claims.sub).toBe(creds.publicKey);
    expect(claims.iss).toBe(tb.broker.issuer.accountPublicKey);
    expect(claims.nats.pub).toEqual({ allow: [`opmas.agents.${id}.>`, 'findings.security'], deny: [`opmas.agents.${id}.control`] });
    expect(claims.nats.sub).toEqual({ allow: [`opmas.agents.${id}.control`, `_INBOX.${id}.>`, 'logs.security', 'logs.auth'] });
    expect(creds.creds).toContain(creds.jwt);
    expect(creds.creds).toContain(creds.seed);
  });

  it('refuses topics that reach into reserved subjects', async () => {
    const agentId = newAgentId('security');
    for (const topic of ['>', 'opmas.agents.>', '*.agents.x', '_INBOX.>', '$SYS.>', 'bad topic']) {
      await expect(tb.broker.issuer.issueAgent({ agentId, subscribedTopics: [topic] }), topic).rejects.toMatchObject({ code: 'validation_failed' });
    }
    await expect(tb.broker.issuer.issueAgent({ agentId, findingsTopic: 'findings.*' })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('lets an agent publish its own heartbeat and findings, which the AMS receives', async () => {
    const id = newAgentId('security');
    const { nc } = await agentConnection(id);
    const got: string[] = [];
    const stop = tb.broker.connection.subscribe(subjects.everyAgent.heartbeat, (m) => got.push(m.subject));
    await tb.broker.connection.raw()!.flush();
    nc.publish(subjects.agent(id).heartbeat, JSON.stringify({ agent_id: id }));
    await nc.flush();
    await waitFor(() => got.includes(subjects.agent(id).heartbeat), 'the heartbeat at the AMS');
    stop();
  });

  it('answers a permission violation when an agent publishes as another agent or to its own control subject', async () => {
    const me = newAgentId('security');
    const other = newAgentId('security');
    const { nc } = await agentConnection(me);
    const asOther = nextViolation(nc, subjects.agent(other).heartbeat);
    nc.publish(subjects.agent(other).heartbeat, '{}');
    const err = await asOther;
    expect(err.operation).toBe('publish');
    expect(err.message).toMatch(/Permissions Violation for Publish/);

    const toControl = nextViolation(nc, subjects.agent(me).control);
    nc.publish(subjects.agent(me).control, '{}');
    expect((await toControl).operation).toBe('publish');

    const elsewhere = nextViolation(nc, 'findings.wifi');
    nc.publish('findings.wifi', '{}');
    expect((await elsewhere).operation).toBe('publish');
  });

  it("answers a permission violation when an agent subscribes to another agent's control subject or to every inbox", async () => {
    const me = newAgentId('security');
    const other = newAgentId('wifi');
    const { nc } = await agentConnection(me);
    const sub = nc.subscribe(subjects.agent(other).control);
    const closedWith = await sub.closed;
    expect(closedWith).toBeInstanceOf(natsErrors.PermissionViolationError);
    expect((closedWith as InstanceType<typeof natsErrors.PermissionViolationError>).operation).toBe('subscription');
    expect((closedWith as Error).message).toContain(subjects.agent(other).control);

    const inboxes = nc.subscribe('_INBOX.>');
    expect(await inboxes.closed).toBeInstanceOf(natsErrors.PermissionViolationError);
    const all = nc.subscribe(subjects.everyAgent.heartbeat);
    expect(await all.closed).toBeInstanceOf(natsErrors.PermissionViolationError);

    // Its own control subject and topics are fine: the connection is still usable.
    const own = nc.subscribe(subjects.agent(me).control);
    const topic = nc.subscribe('logs.auth');
    await nc.flush();
    expect(own.isClosed()).toBe(false);
    expect(topic.isClosed()).toBe(false);
  });

  it('lets the AMS send a control request that the agent answers through its reply permission', async () => {
    const id = newAgentId('security');
    const { nc } = await agentConnection(id);
    nc.subscribe(subjects.agent(id).control, {
      callback: (_err, msg) => {
        msg.respond(JSON.stringify({ ok: true, echo: msg.json() }));
      },
    });
    await nc.flush();
    const reply = await tb.broker.connection.request(subjects.agent(id).control, { action: 'ping' }, 5000);
    expect(reply).toEqual({ ok: true, echo: { action: 'ping' } });
  });

  it('maps a control request nobody answers to agent_unreachable', async () => {
    await expect(tb.broker.connection.request(subjects.agent(newAgentId('security')).control, { action: 'ping' }, 2000)).rejects.toMatchObject({
      code: 'agent_unreachable',
      status: 504,
    });
  });

  it('drops a live connection when its user is revoked, and refuses it afterwards', async () => {
    const id = newAgentId('security');
    const bystanderId = newAgentId('security');
    const { nc, creds } = await agentConnection(id);
    const { nc: bystander } = await agentConnection(bystanderId);
    const closed = nc.closed();

    const outcome = await tb.broker.issuer.revoke(creds.publicKey);
    expect(outcome, outcome.detail).toMatchObject({ applied: true });
    expect(tb.broker.issuer.isRevoked(creds.publicKey)).toBe(true);

    const reason = await closed;
    expect(reason).toBeInstanceOf(natsErrors.AuthorizationError);
    expect(nc.isClosed()).toBe(true);
    await expect(connectWithCreds(tb.url, creds.creds, { reconnect: false })).rejects.toBeInstanceOf(natsErrors.AuthorizationError);

    // Others are untouched, and the revocation is on disk for the next start.
    expect(bystander.isClosed()).toBe(false);
    await bystander.flush();
    const stored = JSON.parse(fs.readFileSync(path.join(tb.dataDir, 'nats', 'revocations.json'), 'utf8'));
    expect(Object.keys(stored)).toContain(creds.publicKey);
  });
});
