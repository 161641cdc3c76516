// Property: nothing a client sends produces a 500. Random JSON bodies, query strings and
// paths against every route family.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';

let t: TestAms;
let agentId: string;
beforeAll(async () => {
  t = await startTestAms();
  agentId = (await createAgent(t.api)).id;
});
afterAll(() => t.stop());

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
