import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t.stop());

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.body.error).toMatchObject({ code, message: expect.any(String), correlation_id: expect.any(String) });
};

describe('request bodies', () => {
  it('answers 400 invalid_json for malformed JSON', async () => {
    const res = await t.api.raw('/api/v1/agents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"agent_name": ' });
    expectError(res, 400, 'invalid_json');
    expect(res.body.error.details[0]).toMatchObject({ path: '', in: 'body' });
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await t.api.raw('/api/v1/agents', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'agent_name=x' });
    expectError(res, 415, 'unsupported_media_type');
    const form = await t.api.raw('/api/v1/config', { method: 'PUT', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expectError(form, 415, 'unsupported_media_type');
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const big = JSON.stringify({ config: { blob: 'x'.repeat(1024 * 1024 + 10) } });
    const res = await t.api.raw('/api/v1/config', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: big });
    expectError(res, 413, 'payload_too_large');
  });

  it('answers 400 for JSON of the wrong shape', async () => {
    const res = await t.api.raw('/api/v1/agents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
    expect(res.status).toBe(400);
  });
});

describe('errors and routing', () => {
  it('answers 404 not_found for unknown routes and 405 for wrong methods, in the error shape', async () => {
    expectError(await t.api.get('/api/v1/nothing-here'), 404, 'not_found');
    const res = await t.api.raw('/api/v1/agents', { method: 'PATCH' });
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toContain('POST');
  });

  it('echoes a sane X-Request-Id as the correlation id', async () => {
    const res = await t.api.get('/api/v1/agents/nope', { 'X-Request-Id': 'trace-123' });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    expect(res.body.error.correlation_id).toBe('trace-123');
    const generated = await t.api.get('/api/v1/agents/nope', { 'X-Request-Id': 'bad id with spaces' });
    expect(generated.body.error.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('API versions', () => {
  it('answers API-Version on every response', async () => {
    for (const res of [await t.api.get('/api/v1/health'), await t.api.get('/api/v1/agents/nope'), await t.api.get('/api/v1/openapi.json')]) {
      expect(res.headers.get('api-version')).toBe('1');
    }
  });

  it('selects the version by header or query on unversioned paths', async () => {
    const agent = await createAgent(t.api);
    const byHeader = await t.api.get(`/api/agents/${agent.id}`, { 'API-Version': '1' });
    expect(byHeader.status).toBe(200);
    expect(byHeader.body.id).toBe(agent.id);
    const byQuery = await t.api.get(`/api/agents/${agent.id}?api_version=1.0`);
    expect(byQuery.body.id).toBe(agent.id);
    expect((await t.api.get(`/api/agents/${agent.id}`)).status).toBe(200);
  });

  it('answers 400 naming the supported versions for an unknown one', async () => {
    for (const res of [
      await t.api.get('/api/v2/agents'),
      await t.api.get('/api/v1/agents', { 'API-Version': '3' }),
      await t.api.get('/api/agents?api_version=banana'),
    ]) {
      expectError(res, 400, 'unsupported_api_version');
      expect(res.body.error.details.supported).toEqual(['1']);
      expect(res.body.error.message).toContain('supported versions: 1');
    }
  });
});

describe('GET /api/v1/health', () => {
  it('reports the AMS and its database with latency', async () => {
    const res = await t.api.get('/api/v1/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.components.ams.status).toBe('ok');
    expect(res.body.components.database).toMatchObject({ status: 'ok', kind: process.env.OPMAS_TEST_DB ?? 'pglite' });
    expect(res.body.components.database.latency_ms).toBeGreaterThanOrEqual(0);
  });
});

describe('GET /api/v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document describing every route', async () => {
    const res = await t.api.get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const ops = Object.entries(res.body.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const op of [
      'GET /api/v1/agents', 'POST /api/v1/agents', 'GET /api/v1/agents/{id}', 'PUT /api/v1/agents/{id}', 'DELETE /api/v1/agents/{id}',
      'GET /api/v1/agents/{id}/config', 'PUT /api/v1/agents/{id}/config', 'GET /api/v1/agents/{id}/config/history',
      'POST /api/v1/agents/{id}/config/rollback', 'GET /api/v1/config', 'PUT /api/v1/config', 'GET /api/v1/config/history', 'GET /api/v1/health',
    ]) {
      expect(ops).toContain(op);
    }
    const create = res.body.paths['/api/v1/agents'].post;
    const schema = create.requestBody.content['application/json'].schema;
    const resolved = schema.$ref ? res.body.components.schemas[schema.$ref.split('/').pop()] : schema;
    expect(resolved.required).toEqual(expect.arrayContaining(['agent_name', 'agent_version', 'agent_type']));
  });
});
