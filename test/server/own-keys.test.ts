// Keys users choose that Object.prototype also has (`constructor`, `__proto__`, `toString`,
// `hasOwnProperty`, `valueOf`) are looked up as own properties everywhere: a key the API allows
// is stored and answered like any other, one it does not allow is a 400 naming it, and none is
// ever a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, startTestAms, testPassword, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'] as const;
/** The names a lower-case key pattern admits: they must work as plain keys. */
const ALLOWED_BY_PATTERN = new Set(['constructor']);

let t: TestAms;
let agentId: string;
beforeAll(async () => {
  t = await startTestAms();
  agentId = (await createAgent(t.api)).id;
});
afterAll(() => t.stop());

/** PUT with a raw JSON text, so that `__proto__` reaches the AMS as a key (JSON.stringify of an object literal would drop it). */
const putRaw = (path: string, text: string) => t.api.raw(path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: text });

describe('configuration keys named like Object.prototype members', () => {
  for (const target of ['/api/v1/config', () => `/api/v1/agents/${agentId}/config`] as const) {
    for (const key of PROTOTYPE_NAMES) {
      it(`${typeof target === 'string' ? 'fleet' : 'agent'} config: ${key}`, async () => {
        const path = typeof target === 'string' ? target : target();
        const res = await putRaw(path, `{"config": {"${key}": 1, "site": "lab"}}`);
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
        if (ALLOWED_BY_PATTERN.has(key)) {
          expect(res.status).toBe(200);
          const read = await t.api.get(path);
          expect(read.status).toBe(200);
          expect(Object.hasOwn(read.body.config, key)).toBe(true);
          expect(read.body.config[key]).toBe(1);
          if (typeof target !== 'string') expect(read.body.effective[key]).toEqual({ value: 1, source: 'agent' });
        } else {
          expect(res.status).toBe(400);
          expect(res.body.error.code).toBe('validation_failed');
          expect(res.body.error.details).toEqual([expect.objectContaining({ path: `config.${key}`, in: 'body' })]);
        }
        // Also as the bare configuration object (the body is the config itself).
        const bare = await putRaw(path, `{"${key}": {"nested": true}}`);
        expect(bare.status, JSON.stringify(bare.body)).toBe(ALLOWED_BY_PATTERN.has(key) ? 200 : 400);
        if (bare.status === 400) expect(bare.body.error.details[0].path).toBe(key);
      });
    }
  }

  it('keeps a constructor key in the effective configuration of an agent and its history', async () => {
    expect((await t.api.put('/api/v1/config', { constructor: 'fleet' })).status).toBe(200);
    expect((await t.api.put(`/api/v1/agents/${agentId}/config`, { config: { valueof: 2 } })).status).toBe(200);
    const effective = await t.api.get(`/api/v1/agents/${agentId}/config`);
    expect(effective.body.effective.constructor).toEqual({ value: 'fleet', source: 'fleet' });
    expect(effective.body.sources.constructor).toBe('fleet');
    const history = await t.api.get('/api/v1/config/history');
    expect(history.body.items[0].config).toEqual({ constructor: 'fleet' });
  });
});

describe('other keys users choose', () => {
  it('answers a metric series named constructor as a column of nulls, not a 500', async () => {
    const res = await t.api.get(`/api/v1/agents/${agentId}/metrics?names=constructor`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Array.isArray(res.body.constructor)).toBe(true);
    expect(res.body.constructor.every((v: unknown) => v === null)).toBe(true);
    for (const name of ['__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const bad = await t.api.get(`/api/v1/agents/${agentId}/metrics?names=${name}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0]).toMatchObject({ path: 'names', in: 'query' });
    }
    const fleet = await t.api.get('/api/v1/metrics?names=constructor');
    expect(fleet.status).toBe(400);
  });

  it('counts agents of type constructor in the fleet status', async () => {
    await createAgent(t.api, { agent_type: 'constructor', labels: { constructor: 'x', valueOf: 'y' } });
    const res = await t.api.get('/api/v1/status');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.by_type.constructor.total).toBe(1);
    expect(res.body.by_label['constructor:x'].total).toBe(1);
    expect(res.body.by_label['valueOf:y'].total).toBe(1);
  });

  it('filters agents by labels named like prototype members', async () => {
    const a = await createAgent(t.api, { labels: { toString: 'blue' } });
    const hit = await t.api.get('/api/v1/agents?label=toString:blue');
    expect(hit.status).toBe(200);
    expect(hit.body.items.map((x: { id: string }) => x.id)).toEqual([a.id]);
    for (const key of PROTOTYPE_NAMES) {
      const res = await t.api.get(`/api/v1/agents?label=${encodeURIComponent(key)}:nothing`);
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([]);
    }
  });

  it('refuses a __proto__ label key with a 400 naming it', async () => {
    const res = await t.api.raw('/api/v1/agents', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"agent_name": "Proto", "agent_version": "1.0.0", "agent_type": "security", "labels": {"__proto__": {"polluted": "yes"}}}',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ path: 'labels.__proto__', in: 'body' })]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('takes log levels, query keys and filters named like prototype members as unknown values', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const logs = await t.api.get(`/api/v1/agents/${agentId}/logs?level=${name}`);
      expect(logs.status).toBe(400);
      expect(logs.body.error.details[0]).toMatchObject({ path: 'level', in: 'query' });
      expect((await t.api.get(`/api/v1/agents?${name}=1&status=${name}`)).status).toBe(400);
      // A strict query names the unknown key.
      const alerts = await t.api.get(`/api/v1/alerts?${name}=1`);
      expect(alerts.status).toBe(400);
      expect(alerts.body.error.details).toEqual([expect.objectContaining({ path: name, in: 'query' })]);
      expect((await t.api.get(`/api/v1/packages?status=${name}`)).status).toBe(400);
    }
  });

  it('signs in users and holds roles named like prototype members', async () => {
    expect((await t.api.post('/api/v1/roles', { name: 'constructor', permissions: ['agents:read'] })).status).toBe(201);
    for (const bad of ['__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await t.api.post('/api/v1/roles', { name: bad, permissions: ['agents:read'] });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].path).toBe('name');
    }
    for (const username of PROTOTYPE_NAMES) {
      const password = testPassword();
      expect((await t.api.post('/api/v1/users', { username, password, role: 'constructor' })).status).toBe(201);
      const session = await login(t.url, username, password);
      const me = await apiClient(t.url, session.access_token).get('/api/v1/auth/me');
      expect(me.body).toMatchObject({ username, role: 'constructor', permissions: ['agents:read'] });
    }
    const permissions = await t.api.post('/api/v1/roles', { name: 'proto-perms', permissions: ['constructor', 'toString'] });
    expect(permissions.status).toBe(400);
    expect(permissions.body.error.details.map((d: { path: string }) => d.path)).toEqual(['permissions.0', 'permissions.1']);
  });
});
