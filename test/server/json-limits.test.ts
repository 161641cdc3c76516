// Free-form JSON in request bodies (configuration values, labels, channel settings, any body) is
// bounded: at most 32 levels of nesting and 10,000 keys and array elements. A body past either
// limit is a 400 naming the limit and where it was passed, checked before anything recurses
// into it, so even a 1 MiB body nested half a million levels deep is a clean 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_JSON_NODES } from '../../server/domain/json-limits.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';

let t: TestAms;
let agentId: string;
beforeAll(async () => {
  t = await startTestAms();
  agentId = (await createAgent(t.api)).id;
});
afterAll(() => t.stop());

/** JSON text of `{"a":{"a":...1}}`, `depth` objects deep. */
const nestedText = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const send = (method: string, path: string, text: string) => t.api.raw(path, { method, headers: { 'content-type': 'application/json' }, body: text });

function expectLimit(res: { status: number; body: any }, limit: string | number, path?: string) {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(400);
  expect(res.body.error.code).toBe('validation_failed');
  expect(res.body.error.details).toHaveLength(1);
  expect(res.body.error.details[0].reason).toContain(String(limit));
  expect(res.body.error.details[0].in).toBe('body');
  if (path !== undefined) expect(res.body.error.details[0].path).toBe(path);
}

describe('nesting depth', () => {
  it('answers 400 naming the limit for a configuration value nested 5,000 deep (fleet and agent)', async () => {
    expectLimit(await send('PUT', '/api/v1/config', `{"config": {"deep": ${nestedText(5000)}}}`), MAX_JSON_DEPTH);
    expectLimit(await send('PUT', `/api/v1/agents/${agentId}/config`, `{"config": {"deep": ${nestedText(5000)}}}`), MAX_JSON_DEPTH);
  });

  it('refuses 3,000 deep, and stores nothing', async () => {
    const before = (await t.api.get('/api/v1/config/history')).body.items.length;
    expectLimit(await send('PUT', '/api/v1/config', `{"deep": ${nestedText(3000)}}`), MAX_JSON_DEPTH);
    expect((await t.api.get('/api/v1/config/history')).body.items.length).toBe(before);
  });

  it('accepts a value that nests exactly to the limit and refuses one level more, naming the path', async () => {
    // The body is level 1, `config` level 2: the value may nest 30 levels below its key.
    const ok = await send('PUT', `/api/v1/agents/${agentId}/config`, `{"config": {"deep": ${nestedText(MAX_JSON_DEPTH - 2)}}}`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const read = await t.api.get(`/api/v1/agents/${agentId}/config`);
    expect(JSON.stringify(read.body.config.deep)).toBe(nestedText(MAX_JSON_DEPTH - 2));
    const tooDeep = await send('PUT', `/api/v1/agents/${agentId}/config`, `{"config": {"deep": ${nestedText(MAX_JSON_DEPTH - 1)}}}`);
    expectLimit(tooDeep, MAX_JSON_DEPTH, ['config', 'deep', ...Array(MAX_JSON_DEPTH - 2).fill('a')].join('.'));
  });

  it('answers a clean 400 for a 1 MiB body of nested arrays, and keeps serving', async () => {
    const depth = (1024 * 1024 - 16) / 2;
    const res = await send('POST', '/api/v1/agents', `${'['.repeat(depth)}${']'.repeat(depth)}`);
    expectLimit(res, MAX_JSON_DEPTH);
    const objects = await send('PUT', '/api/v1/config', `{"x": ${nestedText(170_000)}}`);
    expectLimit(objects, MAX_JSON_DEPTH);
    expect((await t.api.get('/api/v1/health')).status).toBe(200);
  });

  it('bounds labels, notification channel settings and every other body the same way', async () => {
    expectLimit(await send('POST', '/api/v1/agents', `{"agent_name": "Deep", "agent_version": "1.0.0", "agent_type": "x", "labels": {"a": ${nestedText(40)}}}`), MAX_JSON_DEPTH);
    expectLimit(await send('PUT', `/api/v1/agents/${agentId}`, `{"labels": ${nestedText(40)}}`), MAX_JSON_DEPTH);
    expectLimit(
      await send('PUT', '/api/v1/notification-channels', `{"channels": [{"name": "hook", "type": "webhook", "settings": {"url": "https://example.org/x", "extra": ${nestedText(40)}}}]}`),
      MAX_JSON_DEPTH,
    );
    expectLimit(await send('PUT', `/api/v1/agents/${agentId}/recovery/policy`, nestedText(40)), MAX_JSON_DEPTH);
    expectLimit(await send('POST', '/api/v1/auth/login', `{"username": ${nestedText(40)}, "password": "x"}`), MAX_JSON_DEPTH);
  });
});

describe('keys and elements', () => {
  it(`answers 400 naming the limit past ${MAX_JSON_NODES} keys and elements in one body`, async () => {
    const many = JSON.stringify({ config: { list: { items: Array.from({ length: MAX_JSON_NODES }, (_, i) => i) } } });
    expectLimit(await send('PUT', `/api/v1/agents/${agentId}/config`, many), MAX_JSON_NODES);
    const wide = JSON.stringify({ config: { wide: Object.fromEntries(Array.from({ length: MAX_JSON_NODES + 1 }, (_, i) => [`k${i}`, i])) } });
    expectLimit(await send('PUT', '/api/v1/config', wide), MAX_JSON_NODES, 'config.wide');
  });

  it('accepts a large configuration value within the limits', async () => {
    const value = { items: Array.from({ length: 2000 }, (_, i) => ({ id: i })) };
    const res = await t.api.put(`/api/v1/agents/${agentId}/config`, { config: { big: value } });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect((await t.api.get(`/api/v1/agents/${agentId}/config`)).body.config.big.items).toHaveLength(2000);
  });
});
