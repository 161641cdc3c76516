// Discovery tokens and registration with them (seed §4): one-time, hashed, expiring,
// revocable, consumed atomically with the agent row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { agentBody } from '../helpers/factories.js';
import { recordSecret } from '../helpers/secrets.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t.stop());

async function newToken(body: Record<string, unknown> = {}) {
  const res = await t.api.post('/api/v1/discovery-tokens', body);
  expect(res.status).toBe(201);
  recordSecret(res.body.token);
  return res.body as { id: string; token: string; state: string; expires_at: string };
}

describe('discovery tokens', () => {
  it('are created by operators, listed without the secret, and revocable', async () => {
    const op = await t.userWith('operator');
    const created = await op.api.post('/api/v1/discovery-tokens', { agent_type: 'security', expires_in: 600 });
    expect(created.status).toBe(201);
    recordSecret(created.body.token);
    expect(created.body).toMatchObject({ token: expect.stringMatching(/^odt_/), agent_type: 'security', state: 'active' });
    expect(Date.parse(created.body.expires_at) - Date.now()).toBeGreaterThan(500_000);
    const list = await op.api.get('/api/v1/discovery-tokens');
    expect(list.body.items.find((x: { id: string }) => x.id === created.body.id)).toMatchObject({ state: 'active' });
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    const ro = await t.userWith('read-only');
    expect((await ro.api.post('/api/v1/discovery-tokens', {})).status).toBe(403);

    expect((await op.api.delete(`/api/v1/discovery-tokens/${created.body.id}`)).body.state).toBe('revoked');
    expect((await op.api.delete(`/api/v1/discovery-tokens/${created.body.id}`)).status).toBe(409);
    const use = await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: created.body.token });
    expect(use.status).toBe(403);
    expect(use.body.error.code).toBe('discovery_token_revoked');
  });

  it('default to one hour', async () => {
    const tok = await newToken();
    expect(Math.round((Date.parse(tok.expires_at) - Date.now()) / 60_000)).toBe(60);
  });
});

describe('registration with a discovery token', () => {
  it('registers once without a bearer token; the token is then used up', async () => {
    const tok = await newToken();
    const body = agentBody({ agent_name: 'Registered1' });
    const res = await t.anon.post('/api/v1/agents', { ...body, discovery_token: tok.token });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ agent_id: expect.stringMatching(/^security-[0-9a-f-]{36}$/), agent_name: 'Registered1' });
    expect(res.body).toHaveProperty('nats');
    const again = await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: tok.token });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('discovery_token_used');
    const listed = (await t.api.get('/api/v1/discovery-tokens')).body.items.find((x: { id: string }) => x.id === tok.id);
    expect(listed).toMatchObject({ state: 'used', used_by_agent_id: res.body.agent_id });
  });

  it('refuses unknown, expired and wrong-type tokens with clear codes', async () => {
    const unknown = await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: 'odt_not-a-real-token' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('invalid_discovery_token');

    const expiring = await newToken({ expires_in: 60 });
    await t.ams.db.knex('discovery_tokens').where({ id: expiring.id }).update({ expires_at: new Date(Date.now() - 1000) });
    const expired = await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: expiring.token });
    expect(expired.status).toBe(403);
    expect(expired.body.error.code).toBe('discovery_token_expired');

    const typed = await newToken({ agent_type: 'wifi' });
    const mismatch = await t.anon.post('/api/v1/agents', { ...agentBody({ agent_type: 'security' }), discovery_token: typed.token });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error.code).toBe('discovery_token_type_mismatch');
    expect((await t.anon.post('/api/v1/agents', { ...agentBody({ agent_type: 'wifi' }), discovery_token: typed.token })).status).toBe(201);
  });

  it('lets exactly one of two concurrent registrations with one token win', async () => {
    const tok = await newToken();
    const results = await Promise.all([agentBody(), agentBody()].map((b) => t.anon.post('/api/v1/agents', { ...b, discovery_token: tok.token })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 403]);
  });

  it('does not use up the token when the registration fails', async () => {
    const tok = await newToken();
    const taken = agentBody();
    await t.api.post('/api/v1/agents', taken);
    const clash = await t.anon.post('/api/v1/agents', { ...agentBody({ agent_name: taken.agent_name }), discovery_token: tok.token });
    expect(clash.status).toBe(409);
    const invalid = await t.anon.post('/api/v1/agents', { agent_name: 'x y', discovery_token: tok.token });
    expect(invalid.status).toBe(400);
    expect((await t.anon.post('/api/v1/agents', { ...agentBody(), discovery_token: tok.token })).status).toBe(201);
  });

  it('still needs a bearer token with agents:write when there is no discovery token', async () => {
    expect((await t.anon.post('/api/v1/agents', agentBody())).status).toBe(401);
    const op = await t.userWith('operator');
    expect((await op.api.post('/api/v1/agents', agentBody())).status).toBe(403);
    expect((await t.api.post('/api/v1/agents', agentBody())).status).toBe(201);
  });
});
