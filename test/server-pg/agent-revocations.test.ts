// PostgreSQL run only: agent credential revocations are the database's (agent_credentials), and
// two replicas attached to one external NATS account push them one at a time under an advisory
// lock, so revocations made at once on both all reach the account JWT (read-modify-write of
// the JWT by two replicas at once used to lose one). A revocation the broker cannot take now
// stays pending and is pushed once it can.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, apiClient, type ApiClient, login, startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { startExternalNats, type ExternalNats } from '../helpers/external-nats.js';
import { createLogger } from '../../server/logger.js';
import { eventually } from '../helpers/wait.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-revocations-'));
let nats: ExternalNats;
let a: TestAms;
let b: TestAms;
/** Replica B, signed in as the admin (a login made on A works on B). */
let bApi: ApiClient;

beforeAll(async () => {
  nats = await startExternalNats(work, createLogger('warn', pino.destination({ dest: path.join(work, 'nats.log'), sync: true })));
  const jwtSecret = randomBytes(32).toString('base64url');
  a = await startTestAms({ env: nats.env, secrets: { jwtSecret } });
  b = await startTestAms({ noAdmin: true, env: nats.env, secrets: { jwtSecret }, settings: { dbUrl: a.dbUrl } });
  bApi = apiClient(b.url, (await login(a.url, ADMIN, a.adminPassword)).access_token);
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await nats?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const pending = () => a.ams.db.knex('agent_credentials').whereNotNull('revoked_at').whereNull('revocation_applied_at').pluck('public_key');

describe('agent credential revocations on two replicas', () => {
  it('reach the account JWT, every one, when both replicas revoke at the same time', async () => {
    const agents = await Promise.all(Array.from({ length: 12 }, (_, i) => createAgent(i % 2 ? bApi : a.api)));
    // Rotations through both replicas at once: each revokes the agent's first key.
    const rotations = await Promise.all(agents.map((agent, i) => (i % 2 ? a.api : bApi).post(`/api/v1/agents/${agent.id}/credentials/rotate`, {})));
    expect(rotations.map((r) => r.status)).toEqual(agents.map(() => 200));
    const revoked: string[] = await a.ams.db.knex('agent_credentials').whereIn('agent_id', agents.map((x) => x.id)).whereNotNull('revoked_at').pluck('public_key');
    expect(revoked).toHaveLength(agents.length);
    await eventually(pending, (keys) => keys.length === 0, 'every revocation applied');
    const inJwt = await nats.revocations();
    expect(revoked.filter((k) => !Object.hasOwn(inJwt, k))).toEqual([]);
  });

  it('are all restored in the account JWT by the next push of either replica after a stale writer dropped them', async () => {
    const revoked: string[] = await a.ams.db.knex('agent_credentials').whereNotNull('revoked_at').pluck('public_key');
    expect(revoked.length).toBeGreaterThan(0);
    await nats.overwriteRevocations({});
    expect(await nats.revocations()).toEqual({});
    // One more revocation, through B: its push carries the whole list the database holds.
    const agent = await createAgent(bApi);
    expect((await bApi.post(`/api/v1/agents/${agent.id}/credentials/rotate`, {})).status).toBe(200);
    await eventually(pending, (keys) => keys.length === 0, 'the new revocation applied');
    const inJwt = await nats.revocations();
    expect(revoked.filter((k) => !Object.hasOwn(inJwt, k))).toEqual([]);
  });

  it('stay pending while the broker is down and are pushed when it is back', async () => {
    const agent = await createAgent(a.api);
    await nats.server.stop();
    const rotated = await a.api.post(`/api/v1/agents/${agent.id}/credentials/rotate`, {});
    expect(rotated.status).toBe(200);
    const [key] = await a.ams.db.knex('agent_credentials').where({ agent_id: agent.id }).whereNotNull('revoked_at').pluck('public_key');
    expect(await pending()).toContain(key);
    await nats.server.start();
    await eventually(pending, (keys) => !keys.includes(key), 'the revocation pushed after the broker came back', 60_000);
    expect(Object.hasOwn(await nats.revocations(), key)).toBe(true);
  });
});
