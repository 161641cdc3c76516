import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms({ env: { OPMAS_LOG_LEVEL: 'warning', OPMAS_HEARTBEAT_INTERVAL: 'soon' } });
});
afterAll(() => t.stop());

describe('effective configuration', () => {
  it('reports defaults and environment before anything is stored', async () => {
    const agent = await createAgent(t.api);
    const res = await t.api.get(`/api/v1/agents/${agent.id}/config`);
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(0);
    expect(res.body.config).toMatchObject({ log_level: 'WARNING', heartbeat_interval: 30, metrics_enabled: true });
    expect(res.body.sources).toMatchObject({ log_level: 'environment', heartbeat_interval: 'default', metrics_enabled: 'default', nats_url: 'default' });
    expect(res.body.effective.log_level).toEqual({ value: 'WARNING', source: 'environment' });
  });

  it('layers fleet over environment and agent over fleet', async () => {
    const agent = await createAgent(t.api);
    const fleet = await t.api.put('/api/v1/config', { config: { log_level: 'ERROR', heartbeat_interval: 20, region: 'us-west' }, reason: 'quieter fleet' });
    expect(fleet.status).toBe(200);
    const put = await t.api.put(`/api/v1/agents/${agent.id}/config`, { config: { heartbeat_interval: 5, thresholds: { cpu_percent: { warning: 80 } } }, reason: 'faster' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ agent_id: agent.id, version: 1, config: { heartbeat_interval: 5, thresholds: { cpu_percent: { warning: 80 } } }, author: 'admin', reason: 'faster' });
    const res = await t.api.get(`/api/v1/agents/${agent.id}/config`);
    expect(res.body.config).toMatchObject({ log_level: 'ERROR', heartbeat_interval: 5, region: 'us-west', thresholds: { cpu_percent: { warning: 80 } } });
    expect(res.body.sources).toMatchObject({ log_level: 'fleet', heartbeat_interval: 'agent', region: 'fleet', thresholds: 'agent', metrics_enabled: 'default' });
    expect(res.body.fleet_version).toBeGreaterThanOrEqual(1);
    await t.api.put('/api/v1/config', { config: {}, reason: 'reset' });
  });

  it('accepts the configuration object itself as the body, with ?reason=', async () => {
    const agent = await createAgent(t.api);
    const put = await t.api.put(`/api/v1/agents/${agent.id}/config?reason=direct`, { log_level: 'DEBUG' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 1, config: { log_level: 'DEBUG' }, reason: 'direct' });
    expect(put.body.effective.sources.log_level).toBe('agent');
  });

  it('refuses invalid values with one entry per key', async () => {
    const agent = await createAgent(t.api);
    const res = await t.api.put(`/api/v1/agents/${agent.id}/config`, {
      config: { log_level: 'VERBOSE', heartbeat_interval: 0, metrics_enabled: 'on', tags: ['a'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'config.heartbeat_interval', 'config.log_level', 'config.metrics_enabled', 'config.tags',
    ]);
    const high = await t.api.put(`/api/v1/agents/${agent.id}/config`, { heartbeat_interval: 3601 });
    expect(high.status).toBe(400);
    expect((await t.api.get(`/api/v1/agents/${agent.id}/config/history`)).body.items).toEqual([]);
  });

  it('answers 404 for an unknown agent', async () => {
    const id = 'security-00000000-0000-4000-8000-000000000000';
    expect((await t.api.get(`/api/v1/agents/${id}/config`)).status).toBe(404);
    expect((await t.api.put(`/api/v1/agents/${id}/config`, { log_level: 'INFO' })).status).toBe(404);
    expect((await t.api.post(`/api/v1/agents/${id}/config/rollback`, { version: 1 })).status).toBe(404);
  });
});

describe('versions and rollback', () => {
  it('keeps every version newest first in pages, and rolls back as a new version', async () => {
    const agent = await createAgent(t.api);
    for (let i = 1; i <= 7; i++) {
      const res = await t.api.put(`/api/v1/agents/${agent.id}/config`, { config: { heartbeat_interval: i * 10 }, reason: `step ${i}` });
      expect(res.body.version).toBe(i);
    }
    const versions: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ version: number; config: { heartbeat_interval: number }; author: string; reason: string; created_at: string }>; next_cursor: string | null } } =
        await t.api.get(`/api/v1/agents/${agent.id}/config/history?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      for (const v of page.body.items) {
        expect(v.config.heartbeat_interval).toBe(v.version * 10);
        expect(v.reason).toBe(`step ${v.version}`);
        expect(v.author).toBe('admin');
        expect(Number.isNaN(Date.parse(v.created_at))).toBe(false);
      }
      versions.push(...page.body.items.map((v) => v.version));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(versions).toEqual([7, 6, 5, 4, 3, 2, 1]);

    const rb = await t.api.post(`/api/v1/agents/${agent.id}/config/rollback`, { version: 2 });
    expect(rb.status).toBe(200);
    expect(rb.body).toMatchObject({ version: 8, config: { heartbeat_interval: 20 }, reason: 'rollback to version 2' });
    const now = await t.api.get(`/api/v1/agents/${agent.id}/config`);
    expect(now.body).toMatchObject({ version: 8, config: { heartbeat_interval: 20 }, sources: { heartbeat_interval: 'agent' } });

    const missing = await t.api.post(`/api/v1/agents/${agent.id}/config/rollback`, { version: 99 });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('config_version_not_found');
    const bad = await t.api.post(`/api/v1/agents/${agent.id}/config/rollback`, { version: 'two' });
    expect(bad.status).toBe(400);
  });

  it('numbers concurrent writes consecutively', async () => {
    const agent = await createAgent(t.api);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.api.put(`/api/v1/agents/${agent.id}/config`, { heartbeat_interval: i + 1 })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(results.map((r) => r.body.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('versions the fleet settings the same way', async () => {
    const before = (await t.api.get('/api/v1/config')).body.version as number;
    const a = await t.api.put('/api/v1/config', { config: { log_level: 'CRITICAL' }, reason: 'a' });
    const b = await t.api.put('/api/v1/config', { log_level: 'INFO' });
    expect([a.body.version, b.body.version]).toEqual([before + 1, before + 2]);
    const history = await t.api.get('/api/v1/config/history?limit=2');
    expect(history.body.items.map((v: { version: number }) => v.version)).toEqual([before + 2, before + 1]);
    expect(history.body.next_cursor === null).toBe(before === 0);
    const rb = await t.api.post('/api/v1/config/rollback', { version: before + 1 });
    expect(rb.body).toMatchObject({ version: before + 3, config: { log_level: 'CRITICAL' } });
    expect((await t.api.get('/api/v1/config')).body.config).toEqual({ log_level: 'CRITICAL' });
    expect((await t.api.put('/api/v1/config', { heartbeat_interval: -1 })).status).toBe(400);
    await t.api.put('/api/v1/config', {});
  });
});
