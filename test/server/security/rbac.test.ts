// Authorization: every route declares a permission; object- and function-level checks for
// the agent and read-only roles (OWASP API1, API3, API5); custom roles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { koaPath, type RouteSpec } from '../../../server/http/route.js';
import { API_BASE } from '../../../server/app.js';
import { startTestAms, type TestAms, type ApiClient } from '../../helpers/ams.js';
import { createAgent } from '../../helpers/factories.js';

let t: TestAms;
let agentA: { id: string };
let agentB: { id: string };
let routes: RouteSpec[];
beforeAll(async () => {
  t = await startTestAms();
  agentA = await createAgent(t.api);
  agentB = await createAgent(t.api);
  const { createApp } = await import('../../../server/app.js');
  ({ routes } = createApp({ logger: (await import('pino')).default({ level: 'silent' }), services: t.ams.services, security: t.ams.security, version: 'test' }));
});
afterAll(() => t.stop());

/** A concrete URL for a route, with `{id}` filled from `ids`. */
const urlOf = (spec: RouteSpec, id: string) => `${API_BASE}${spec.path.replace('{id}', id).replace('{name}', 'some-role')}`;
const call = (api: ApiClient, spec: RouteSpec, id: string) =>
  spec.method === 'get' ? api.get(urlOf(spec, id)) : spec.method === 'delete' ? api.delete(urlOf(spec, id)) : api.raw(urlOf(spec, id), { method: spec.method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: '{}' });

describe('route permissions', () => {
  it('every mounted route declares one, and only auth routes and /health are public', async () => {
    const { createApp } = await import('../../../server/app.js');
    const { router } = createApp({ logger: (await import('pino')).default({ level: 'silent' }), services: t.ams.services, security: t.ams.security, version: 'test' });
    const byKey = new Map(routes.map((r) => [`${r.method.toUpperCase()} ${API_BASE}${koaPath(r.path)}`, r]));
    const undeclared: string[] = [];
    for (const layer of router.stack) {
      for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
        const key = `${method} ${layer.path}`;
        if (key === `GET ${API_BASE}/openapi.json`) continue;
        const spec = byKey.get(key);
        if (!spec || !spec.permission) undeclared.push(key);
      }
    }
    expect(undeclared).toEqual([]);
    const publicRoutes = routes.filter((r) => r.permission === 'public').map((r) => r.path);
    expect(publicRoutes.every((p) => p === '/health' || p.startsWith('/auth/'))).toBe(true);
  });

  it('every non-public route answers 401 without a token', async () => {
    for (const spec of routes.filter((r) => r.permission !== 'public')) {
      const res = await call(t.anon, spec, agentA.id);
      expect(res.status, `${spec.method} ${spec.path}`).toBe(401);
    }
  });
});

describe('read-only role (OWASP API5)', () => {
  it('gets 403 on every mutating route and 200 on reads', async () => {
    const ro = await t.userWith('read-only');
    for (const spec of routes.filter((r) => r.method !== 'get' && r.permission !== 'public' && r.permission !== 'authenticated')) {
      const res = await call(ro.api, spec, agentA.id);
      expect(res.status, `${spec.method} ${spec.path}`).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await ro.api.get('/api/v1/agents')).status).toBe(200);
    expect((await ro.api.get(`/api/v1/agents/${agentA.id}/config`)).status).toBe(200);
    expect((await ro.api.get('/api/v1/users')).status).toBe(403);
    expect((await ro.api.get('/api/v1/audit')).status).toBe(403);
  });
});

describe('agent role (OWASP API1, API3)', () => {
  it("reaches only its own agent's resources", async () => {
    const bound = await t.userWith('agent', agentA.id);
    expect((await bound.api.get(`/api/v1/agents/${agentA.id}`)).status).toBe(200);
    expect((await bound.api.get(`/api/v1/agents/${agentA.id}/config`)).status).toBe(200);
    expect((await bound.api.get(`/api/v1/agents/${agentA.id}/config/history`)).status).toBe(200);
    for (const res of [
      await bound.api.get(`/api/v1/agents/${agentB.id}`),
      await bound.api.get(`/api/v1/agents/${agentB.id}/config`),
      await bound.api.put(`/api/v1/agents/${agentB.id}/config`, { log_level: 'DEBUG' }),
      await bound.api.get('/api/v1/agents'),
      await bound.api.get('/api/v1/config'),
      await bound.api.put(`/api/v1/agents/${agentA.id}`, { description: 'mine' }),
      await bound.api.delete(`/api/v1/agents/${agentA.id}`),
    ]) {
      expect(res.status).toBe(403);
    }
    const own = await bound.api.put(`/api/v1/agents/${agentA.id}/config`, { config: { log_level: 'DEBUG', batch_size: 10 } });
    expect(own.status).toBe(200);
    expect(own.body.author).toBe(bound.username);
  });

  it('is refused, not ignored, when it writes a field it may not', async () => {
    const bound = await t.userWith('agent', agentA.id);
    const res = await bound.api.put(`/api/v1/agents/${agentA.id}/config`, { config: { log_level: 'INFO', nats_url: 'nats://evil:4222', autostart: false } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('field_not_permitted');
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['config.autostart', 'config.nats_url']);
    const stored = await t.api.get(`/api/v1/agents/${agentA.id}/config`);
    expect(stored.body.config.nats_url).not.toBe('nats://evil:4222');

    // Keys an operator set stay as they are; the agent may resend them unchanged.
    await t.api.put(`/api/v1/agents/${agentA.id}/config`, { config: { autostart: true } });
    expect((await bound.api.put(`/api/v1/agents/${agentA.id}/config`, { config: { log_level: 'ERROR' } })).status).toBe(403);
    expect((await bound.api.put(`/api/v1/agents/${agentA.id}/config`, { config: { log_level: 'ERROR', autostart: true } })).status).toBe(200);
  });

  it('needs an agent to bind to', async () => {
    const res = await t.api.post('/api/v1/users', { username: 'loose-agent', password: 'long-enough-password', role: 'agent' });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('agent_id');
    const token = await t.api.post('/api/v1/tokens', { name: 'agent-token', role: 'agent', agent_id: 'security-00000000-0000-4000-8000-000000000000' });
    expect(token.status).toBe(400);
  });
});

describe('custom roles and users', () => {
  it('grant exactly their permissions, take effect when changed, and cannot be deleted while held', async () => {
    const created = await t.api.post('/api/v1/roles', { name: 'viewer', description: 'agents only', permissions: ['agents:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'viewer', permissions: ['agents:read'], builtin: false });
    const viewer = await t.userWith('viewer');
    expect((await viewer.api.get('/api/v1/agents')).status).toBe(200);
    expect((await viewer.api.get(`/api/v1/agents/${agentA.id}/config`)).status).toBe(403);
    const changed = await t.api.put('/api/v1/roles/viewer', { permissions: ['agents:read', 'config:read'] });
    expect(changed.status).toBe(200);
    expect((await viewer.api.get(`/api/v1/agents/${agentA.id}/config`)).status).toBe(200);
    expect((await t.api.delete('/api/v1/roles/viewer')).status).toBe(409);
    expect((await t.api.post('/api/v1/roles', { name: 'bad', permissions: ['agents:fly'] })).status).toBe(400);
    expect((await t.api.put('/api/v1/roles/admin', { permissions: [] })).status).toBe(403);
    expect((await t.api.delete('/api/v1/roles/operator')).status).toBe(403);
    expect((await t.api.get('/api/v1/roles')).body.items.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['admin', 'operator', 'read-only', 'agent', 'viewer']));
    expect((await t.api.delete(`/api/v1/users/${viewer.id}`)).status).toBe(204);
    expect((await t.api.delete('/api/v1/roles/viewer')).status).toBe(204);
  });

  it('users are admin-only, unique, and the last admin stays', async () => {
    const op = await t.userWith('operator');
    expect((await op.api.get('/api/v1/users')).status).toBe(403);
    expect((await op.api.post('/api/v1/roles', { name: 'mine', permissions: [] })).status).toBe(403);
    expect((await t.api.post('/api/v1/users', { username: op.username, password: 'another-long-password', role: 'operator' })).status).toBe(409);
    const admins = (await t.api.get('/api/v1/users?limit=500')).body.items.filter((u: { role: string }) => u.role === 'admin');
    expect(admins).toHaveLength(1);
    const demote = await t.api.put(`/api/v1/users/${admins[0].id}`, { role: 'operator' });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('last_admin');
    expect((await t.api.get('/api/v1/users/not-a-uuid')).status).toBe(404);
  });
});
