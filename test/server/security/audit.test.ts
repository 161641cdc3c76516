// The audit log: a row for every mutating request and auth event, with actor, target,
// before/after, source, result and correlation id; never a secret; append-only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, startTestAms, type TestAms } from '../../helpers/ams.js';
import { createAgent } from '../../helpers/factories.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t.stop());

async function auditRows(query: string) {
  const res = await t.api.get(`/api/v1/audit?limit=500&${query}`);
  expect(res.status).toBe(200);
  return res.body.items as Array<Record<string, any>>;
}

describe('audit rows', () => {
  it('record each mutating route with actor, target, result and correlation id', async () => {
    const agent = await createAgent(t.api);
    await t.api.put(`/api/v1/agents/${agent.id}`, { description: 'audited' });
    await t.api.put(`/api/v1/agents/${agent.id}/config`, { config: { log_level: 'DEBUG' } }, { 'X-Request-Id': 'corr-42' });
    await t.api.put(`/api/v1/agents/${agent.id}/config`, { config: { log_level: 'ERROR' } });
    await t.api.post(`/api/v1/agents/${agent.id}/config/rollback`, { version: 1 });
    await t.api.put('/api/v1/config', { heartbeat_interval: 15 });
    await t.api.post('/api/v1/agents', { agent_name: 'bad name' });
    await t.api.delete(`/api/v1/agents/${agent.id}`);

    const rows = await auditRows(`target=${agent.id}`);
    const actions = rows.map((r) => r.action).reverse();
    expect(actions).toEqual(['agent.create', 'agent.update', 'config.agent.update', 'config.agent.update', 'config.agent.rollback', 'agent.delete']);
    for (const r of rows) {
      expect(r).toMatchObject({ actor: { type: 'user', name: 'admin', role: 'admin' }, result: 'success', source: expect.stringMatching(/127\.0\.0\.1/) });
      expect(r.correlation_id).toEqual(expect.any(String));
    }
    const firstConfig = rows.find((r) => r.correlation_id === 'corr-42')!;
    expect(firstConfig).toMatchObject({ action: 'config.agent.update', before: null, after: { log_level: 'DEBUG' }, status: 200 });
    const rollback = rows.find((r) => r.action === 'config.agent.rollback')!;
    expect(rollback).toMatchObject({ before: { log_level: 'ERROR' }, after: { log_level: 'DEBUG' } });

    const fleet = (await auditRows('action=config.fleet.update'))[0];
    expect(fleet).toMatchObject({ target: 'fleet', after: { heartbeat_interval: 15 } });
    const failed = (await auditRows('action=agent.create')).find((r) => r.status === 400)!;
    expect(failed).toMatchObject({ result: 'failure', details: { error: 'validation_failed' } });
  });

  it('record auth events: login success and failure, refresh reuse, logout, permission denied', async () => {
    const ro = await t.userWith('read-only');
    await t.anon.post('/api/v1/auth/login', { username: ro.username, password: 'wrong-password!' });
    await t.anon.post('/api/v1/auth/refresh', { refresh_token: ro.session.refresh_token });
    await t.anon.post('/api/v1/auth/refresh', { refresh_token: ro.session.refresh_token });
    // The reuse revoked that whole login, its access token included: sign in again.
    expect((await ro.api.get('/api/v1/auth/me')).status).toBe(401);
    const again = apiClient(t.url, (await login(t.url, ro.username, ro.password)).access_token);
    await again.get('/api/v1/users');
    await again.post('/api/v1/auth/logout', {});

    const logins = await auditRows(`action=auth.login&actor=${ro.username}`);
    expect(logins.map((r) => r.result).sort()).toEqual(['denied', 'success', 'success']);
    expect(logins.find((r) => r.result === 'denied')).toMatchObject({ status: 401, details: { error: 'invalid_credentials' }, actor: { type: 'anonymous' } });
    const refreshes = await auditRows('action=auth.refresh');
    expect(refreshes.some((r) => r.details?.error === 'refresh_token_reused' && r.result === 'denied')).toBe(true);
    // The successful refresh names whose session it rotated.
    expect(refreshes.find((r) => r.result === 'success')).toMatchObject({ actor: { name: ro.username }, target: `user:${ro.username}` });
    const denied = await auditRows(`action=listUsers&actor=${ro.username}`);
    expect(denied[0]).toMatchObject({ result: 'denied', status: 403, actor: { role: 'read-only' }, details: { error: 'forbidden' } });
    const logouts = await auditRows(`action=auth.logout&actor=${ro.username}`);
    expect(logouts).toHaveLength(1);
  });

  it('record role changes with before and after, and token creation without the secret', async () => {
    await t.api.post('/api/v1/roles', { name: 'auditor', permissions: ['audit:read'] });
    await t.api.put('/api/v1/roles/auditor', { permissions: ['audit:read', 'agents:read'] });
    const change = (await auditRows('action=role.update&target=role:auditor'))[0];
    expect(change.before.permissions).toEqual(['audit:read']);
    expect(change.after.permissions).toEqual(['audit:read', 'agents:read']);

    const token = await t.api.post('/api/v1/tokens', { name: 'audited-token', role: 'read-only' });
    const all = JSON.stringify(await auditRows(''));
    expect(all).not.toContain(token.body.token);
    expect(all).not.toContain(t.adminPassword);
    expect((await auditRows(`action=token.create&target=token:${token.body.id}`))).toHaveLength(1);
  });
});

describe('GET /api/v1/audit', () => {
  it('filters by time range and pages without gaps', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const agent = await createAgent(t.api);
    for (let i = 0; i < 6; i++) await t.api.put(`/api/v1/agents/${agent.id}/config`, { heartbeat_interval: i + 1 });
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ id: number }>; next_cursor: string | null } } = await t.api.get(
        `/api/v1/audit?target=${agent.id}&from=${encodeURIComponent(from)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      ids.push(...page.body.items.map((r) => r.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(ids).toHaveLength(7);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const future = await t.api.get(`/api/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`);
    expect(future.body.items).toEqual([]);
  });

  it('bounds the time range and refuses bad filters', async () => {
    const tooLong = await t.api.get('/api/v1/audit?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details[0].path).toBe('to');
    expect((await t.api.get('/api/v1/audit?from=yesterday')).status).toBe(400);
  });

  it('is append-only: no route changes it, and the database refuses updates and deletes', async () => {
    expect((await t.api.delete('/api/v1/audit')).status).toBe(405);
    expect((await t.api.put('/api/v1/audit', {})).status).toBe(405);
    await expect(t.ams.db.knex('audit_log').update({ action: 'rewritten' })).rejects.toThrow(/append-only/);
    await expect(t.ams.db.knex('audit_log').delete()).rejects.toThrow(/append-only/);
  });

  it('needs audit:read', async () => {
    const op = await t.userWith('operator');
    expect((await op.api.get('/api/v1/audit')).status).toBe(403);
  });
});
