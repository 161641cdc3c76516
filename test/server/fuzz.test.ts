// Property: nothing a client sends produces a 5xx, and every answer is what the OpenAPI document
// declares. Schema-driven: for every operation of the served /api/v1/openapi.json, requests
// generated from its parameter and body schemas (valid ones and deliberately invalid ones), sent
// as an admin and as a read-only user; each answer's status must be declared for the operation,
// its body must match the schema declared for that status (ajv), and every 4xx has the error
// shape. Then random JSON bodies, query strings and paths against the main route families.
// Fixed seed; FUZZ_RUNS=<n> runs 2n requests per operation (default 20), FUZZ_SEED another
// seed, FUZZ_REPORT=1 prints the statuses each operation answered.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, startTestAms, testPassword, type ApiClient, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { recordSecret } from '../helpers/secrets.js';
import { API_BASE, apiRoutes, type Services } from '../../server/app.js';
import { buildOpenApi } from '../../server/http/openapi.js';
import type { Security } from '../../server/security/index.js';
import { createResponseValidator, type FuzzRequest, type OpenApiDoc, operationsOf, type OperationRef, requestArbitrary } from '../helpers/openapi-fuzz.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);

let t: TestAms;
let agentId: string;
let doc: OpenApiDoc;
const pools: Record<string, string[]> = {};
const sessions: Record<'admin' | 'read-only', { username: string; password: string; token?: string }> = {
  admin: { username: 'admin', password: '' },
  'read-only': { username: '', password: '' },
};

beforeAll(async () => {
  // Generous limits: the fuzzer's many refused logins and tokens must not turn into 429s that hide the routes.
  t = await startTestAms({ settings: { authFailureRateLimitPerMinute: 1_000_000, loginRateLimitPerMinute: 1_000_000 } });
  agentId = (await createAgent(t.api)).id;
  sessions.admin.password = t.adminPassword;
  const ro = await t.userWith('read-only');
  Object.assign(sessions['read-only'], { username: ro.username, password: ro.password, token: ro.session.access_token });
  sessions.admin.token = (await login(t.url, 'admin', t.adminPassword)).access_token;

  // Real values for path parameters, so that requests reach past the 404s: agents, users,
  // roles, tokens kept for reading and changing, and others for the DELETEs to use up.
  const agents = [agentId, ...(await Promise.all([1, 2, 3].map(() => createAgent(t.api, { labels: { fuzz: 'yes' } })))).map((a) => a.id)];
  const disposableAgents = (await Promise.all([1, 2, 3].map(() => createAgent(t.api)))).map((a) => a.id);
  const user = async () => (await t.api.post('/api/v1/users', { username: `fuzz-${Math.random().toString(36).slice(2, 10)}`, password: testPassword(), role: 'operator' })).body.id as string;
  const users = [await user(), await user()];
  const disposableUsers = [await user(), await user()];
  for (const name of ['fuzz-role', 'fuzz-gone-1', 'fuzz-gone-2']) await t.api.post('/api/v1/roles', { name, permissions: ['agents:read'] });
  const token = async () => {
    const created = (await t.api.post('/api/v1/tokens', { name: 'fuzz', role: 'read-only' })).body;
    recordSecret(created.token);
    return created.id as string;
  };
  const discovery = async () => {
    const created = (await t.api.post('/api/v1/discovery-tokens', {})).body;
    recordSecret(created.token);
    return created.id as string;
  };
  Object.assign(pools, {
    '/api/v1/users/{id}:id': users,
    'delete /api/v1/users/{id}:id': disposableUsers,
    '/api/v1/roles/{name}:name': ['fuzz-role', 'read-only'],
    'delete /api/v1/roles/{name}:name': ['fuzz-gone-1', 'fuzz-gone-2', 'admin'],
    '/api/v1/tokens/{id}:id': [await token(), await token()],
    '/api/v1/discovery-tokens/{id}:id': [await discovery(), await discovery()],
    '/api/v1/packages/scans/{id}:id': ['latest'],
    '/api/v1/alerts/{id}:id': ['1'],
    'agents:id': agents,
    'delete /api/v1/agents/{id}:id': disposableAgents,
  });
  doc = (await t.anon.get('/api/v1/openapi.json')).body;
});
afterAll(() => t.stop());

/** The operations the AMS serves, from the route declarations it builds its document from (known before any AMS runs). */
function servedOperations(): OperationRef[] {
  return operationsOf(buildOpenApi(apiRoutes({} as Services, {} as Security), { version: '0', basePath: API_BASE }) as OpenApiDoc);
}

/** Real values for one operation's path parameters. */
function poolsFor(ref: OperationRef): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const name of (ref.path.match(/\{([^}]+)\}/g) ?? []).map((m) => m.slice(1, -1))) {
    const pool =
      pools[`${ref.method} ${ref.path}:${name}`] ?? pools[`${ref.path}:${name}`] ?? (ref.path.startsWith('/api/v1/agents/{id}') && name === 'id' ? pools['agents:id'] : undefined);
    if (pool) out[name] = pool;
  }
  return out;
}

async function send(as: 'admin' | 'read-only', req: FuzzRequest): Promise<{ status: number; body: any; contentType: string | null }> {
  const client: ApiClient = apiClient(t.url, sessions[as].token);
  const res = await client.raw(req.url, {
    method: req.method,
    headers: req.body === undefined ? {} : { 'content-type': 'application/json' },
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
  });
  // A logout ends the fuzzer's own session: sign in again for the next request.
  if (req.url.startsWith('/api/v1/auth/logout') && res.status < 400) {
    const session = await login(t.url, sessions[as].username, sessions[as].password);
    sessions[as].token = session.access_token;
  }
  return { status: res.status, body: res.body, contentType: res.headers.get('content-type') };
}

/** FUZZ_REPORT=1: the statuses each operation answered, printed at the end (how deep the fuzzing reached). */
const seen = new Map<string, number[]>();
afterAll(() => {
  if (!process.env.FUZZ_REPORT) return;
  for (const [op, statuses] of seen) {
    const counts = [...statuses.reduce((m, s) => m.set(s, (m.get(s) ?? 0) + 1), new Map<number, number>())].sort((a, b) => a[0] - b[0]);
    process.stdout.write(`fuzz ${op}: ${counts.map(([s, n]) => `${s}×${n}`).join(' ')}\n`);
  }
});

describe('every operation of the OpenAPI document', () => {
  it('is served, and each one is fuzzed below', () => {
    expect(operationsOf(doc).length).toBeGreaterThanOrEqual(60);
  });

  // The document is fetched in beforeAll; vitest collects tests first, so the operations are
  // listed from the same route declarations the AMS serves them from.
  for (const { method, path } of servedOperations()) {
    it(`${method.toUpperCase()} ${path}`, async () => {
      const ref = operationsOf(doc).find((o) => o.method === method && o.path === path);
      expect(ref, `${method} ${path} is in the served document`).toBeDefined();
      const validator = createResponseValidator(doc);
      await fc.assert(
        fc.asyncProperty(requestArbitrary(ref!, doc, poolsFor(ref!)), fc.constantFrom('admin' as const, 'read-only' as const), async (req, as) => {
          const res = await send(as, req);
          if (process.env.FUZZ_REPORT) seen.set(`${method.toUpperCase()} ${path}`, [...(seen.get(`${method.toUpperCase()} ${path}`) ?? []), res.status]);
          const what = `${as}: ${req.method} ${req.url} ${JSON.stringify(req.body)?.slice(0, 300)} -> ${res.status} ${JSON.stringify(res.body)?.slice(0, 400)}`;
          expect(res.status, what).toBeLessThan(500);
          expect(validator.check(ref!, res.status, res.contentType, res.body), what).toBeUndefined();
          if (res.status >= 400) {
            expect(res.body?.error, what).toMatchObject({ code: expect.any(String), message: expect.any(String), correlation_id: expect.any(String) });
          }
        }),
        { seed: SEED, numRuns: RUNS * 2, endOnFailure: true },
      );
    });
  }
});

const targets = () => [
  { method: 'POST', path: '/api/v1/agents' },
  { method: 'PUT', path: `/api/v1/agents/${agentId}` },
  { method: 'PUT', path: `/api/v1/agents/${agentId}/config` },
  { method: 'POST', path: `/api/v1/agents/${agentId}/config/rollback` },
  { method: 'PUT', path: '/api/v1/config' },
  { method: 'POST', path: '/api/v1/config/rollback' },
];

// Bodies that look like what the API expects, with wrong types and odd values mixed in.
const nearlyValid = fc.record(
  {
    agent_name: fc.oneof(fc.string(), fc.constant('Fuzz'), fc.integer()),
    agent_version: fc.oneof(fc.string(), fc.constant('1.0.0')),
    agent_type: fc.oneof(fc.string(), fc.constant('security')),
    labels: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    subscribed_topics: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
    config: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    version: fc.oneof(fc.integer(), fc.double(), fc.string()),
    heartbeat_interval: fc.jsonValue(),
    log_level: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('random input', () => {
  it('refuses NUL characters by field instead of failing in the database', async () => {
    const res = await t.api.post('/api/v1/agents', { agent_name: 'Nul', agent_version: '1.0.0', agent_type: 'x', description: 'a\u0000b' });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'description', in: 'body' })]);
    const cfg = await t.api.put('/api/v1/config', { nested: { 'k\u0000': 1 } });
    expect(cfg.status).toBe(400);
    expect(cfg.body.error.details[0].path).toBe('nested.k\u0000');
    expect((await t.api.get('/api/v1/agents?q=%00')).status).toBe(400);
  });

  it('never produces a 500 from full-Unicode JSON', async () => {
    const unicode = fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' } as never);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets()), fc.dictionary(fc.string({ unit: 'binary' }), unicode), async (target, body) => {
        const res = await t.api.raw(target.path, { method: target.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status, `${target.method} ${target.path} ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });

  it('never produces a 500 from a JSON body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets()), fc.oneof(fc.jsonValue(), nearlyValid), async (target, body) => {
        const res = await t.api.raw(target.path, { method: target.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status, `${target.method} ${target.path} ${JSON.stringify(body).slice(0, 200)}`).toBeLessThan(500);
        if (res.status >= 400) expect(res.body.error.code).toEqual(expect.any(String));
      }),
      { numRuns: 300 },
    );
  });

  it('never produces a 500 from raw bytes, query strings or paths', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.string({ maxLength: 60 }), fc.string({ maxLength: 40 }), async (raw, query, segment) => {
        const body = await t.api.raw('/api/v1/agents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
        expect(body.status).toBeLessThan(500);
        const list = await t.api.get(`/api/v1/agents?${encodeURIComponent(query)}=${encodeURIComponent(segment)}&limit=${encodeURIComponent(segment)}`);
        expect(list.status).toBeLessThan(500);
        const path = await t.api.get(`/api/v1/agents/${encodeURIComponent(segment)}/config`);
        expect(path.status).toBeLessThan(500);
        const cursor = await t.api.get(`/api/v1/agents?cursor=${encodeURIComponent(raw.slice(0, 100))}`);
        expect(cursor.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });
});
