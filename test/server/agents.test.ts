import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { agentBody, createAgent } from '../helpers/factories.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t.stop());

describe('POST /api/v1/agents', () => {
  it('registers an agent with an {agent_type}-{uuid} ID and answers it', async () => {
    const body = agentBody({ agent_name: 'SecurityAgent', labels: { site: 'hb-01', group: 'edge' } });
    const res = await t.api.post('/api/v1/agents', body);
    expect(res.status).toBe(201);
    expect(res.body.id).toMatch(/^security-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body).toMatchObject({
      agent_id: res.body.id,
      agent_name: 'SecurityAgent',
      agent_version: '1.0.0',
      agent_type: 'security',
      subscribed_topics: ['logs.security', 'logs.auth'],
      findings_topic: 'findings.security',
      labels: { site: 'hb-01', group: 'edge' },
      status: 'registered',
      health: 'unknown',
      recovery: 'none',
    });
    expect(res.headers.get('location')).toBe(`/api/v1/agents/${res.body.id}`);
    const read = await t.api.get(`/api/v1/agents/${res.body.id}`);
    expect(read.status).toBe(200);
    const { nats: _nats, ...agent } = res.body;
    expect(read.body).toEqual(agent);
  });

  it('answers 409 for a name that is already registered', async () => {
    const first = await createAgent(t.api);
    const res = await t.api.post('/api/v1/agents', agentBody({ agent_name: first.agent_name }));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('agent_exists');
  });

  it('answers 400 with one entry per bad field', async () => {
    const res = await t.api.post('/api/v1/agents', {
      agent_name: '9lives',
      agent_version: 'one',
      agent_type: 'Security Agent',
      subscribed_topics: ['ok.topic', 'bad topic'],
      findings_topic: 'findings.*',
      labels: { 'bad key!': 'x' },
      surprise: true,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const paths = res.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(['agent_name', 'agent_type', 'agent_version', 'findings_topic', 'labels.bad key!', 'subscribed_topics.1', 'surprise']);
    for (const d of res.body.error.details) expect(d.reason).toEqual(expect.any(String));
  });

  it('names each missing required field', async () => {
    const res = await t.api.post('/api/v1/agents', {});
    expect(res.status).toBe(400);
    const details = res.body.error.details as Array<{ path: string; reason: string }>;
    expect(details.map((d) => d.path).sort()).toEqual(['agent_name', 'agent_type', 'agent_version']);
    expect(details.every((d) => d.reason === 'is required')).toBe(true);
  });
});

describe('GET/PUT/DELETE /api/v1/agents/{id}', () => {
  it('updates the mutable fields and refuses the immutable ones by name', async () => {
    const agent = await createAgent(t.api);
    const res = await t.api.put(`/api/v1/agents/${agent.id}`, {
      agent_version: '1.2.0',
      description: 'now with labels',
      labels: { site: 'hb-02' },
      subscribed_topics: ['logs.>'],
      findings_topic: null,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agent_version: '1.2.0', description: 'now with labels', labels: { site: 'hb-02' }, subscribed_topics: ['logs.>'], findings_topic: null });
    expect(Date.parse(res.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(res.body.created_at));

    const bad = await t.api.put(`/api/v1/agents/${agent.id}`, { agent_type: 'wifi', agent_name: 'Other' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['agent_name', 'agent_type']);
  });

  it('answers 404 for an unknown agent on every verb', async () => {
    const id = 'security-00000000-0000-4000-8000-000000000000';
    for (const res of [
      await t.api.get(`/api/v1/agents/${id}`),
      await t.api.put(`/api/v1/agents/${id}`, { description: 'x' }),
      await t.api.delete(`/api/v1/agents/${id}`),
      await t.api.get('/api/v1/agents/not-an-id'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('agent_not_found');
    }
  });

  it('deletes an agent and everything stored about it', async () => {
    const agent = await createAgent(t.api);
    await t.api.put(`/api/v1/agents/${agent.id}/config`, { log_level: 'DEBUG' });
    const res = await t.api.delete(`/api/v1/agents/${agent.id}`);
    expect(res.status).toBe(204);
    expect((await t.api.get(`/api/v1/agents/${agent.id}`)).status).toBe(404);
    expect((await t.api.get(`/api/v1/agents/${agent.id}/config/history`)).status).toBe(404);
    const leftover = await t.ams.db.knex('agent_config_versions').where('agent_id', agent.id).count('* as n').first();
    expect(Number(leftover?.n)).toBe(0);
  });
});

describe('GET /api/v1/agents', () => {
  let fleet: Array<{ id: string; agent_name: string }>;

  beforeAll(async () => {
    fleet = [];
    for (let i = 0; i < 23; i++) {
      fleet.push(
        await createAgent(t.api, {
          agent_name: `Pager${String(i).padStart(2, '0')}`,
          agent_type: i % 2 === 0 ? 'pager' : 'pager-wifi',
          labels: { site: i % 3 === 0 ? 'pg-01' : 'pg-02', group: i < 10 ? 'edge' : 'core' },
        }),
      );
    }
  });

  it('walks every page without duplicates or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { items: Array<{ id: string }>; next_cursor: string | null } } = await t.api.get(
        `/api/v1/agents?q=Pager&limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(5);
      seen.push(...res.body.items.map((a) => a.id));
      cursor = res.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(fleet.map((a) => a.id).sort());
  });

  it('keeps answering when the pool replaces its database connections (prepared statements)', async () => {
    const before = await t.api.get('/api/v1/agents?q=Pager&limit=5');
    const one = await t.api.get(`/api/v1/agents/${fleet[0].id}`);
    expect(before.status).toBe(200);
    // New client connections while the statements prepared by the old ones may still exist
    // on the server side (PGlite keeps one session across socket connections).
    await t.ams.db.knex.destroy();
    t.ams.db.knex.initialize();
    const after = await t.api.get('/api/v1/agents?q=Pager&limit=5');
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
    const again = await t.api.get(`/api/v1/agents/${fleet[0].id}`);
    expect(again.body).toEqual(one.body);
  });

  it('filters by type, label, status, health and name', async () => {
    const byType = await t.api.get('/api/v1/agents?type=pager-wifi&limit=500');
    expect(byType.body.items).toHaveLength(11);
    expect(byType.body.items.every((a: { agent_type: string }) => a.agent_type === 'pager-wifi')).toBe(true);

    const byLabel = await t.api.get('/api/v1/agents?label=site:pg-01&label=group:edge&limit=500');
    const expected = fleet.filter((_, i) => i % 3 === 0 && i < 10).map((a) => a.id).sort();
    expect(byLabel.body.items.map((a: { id: string }) => a.id).sort()).toEqual(expected);

    const byName = await t.api.get('/api/v1/agents?q=pager1');
    expect(byName.body.items.map((a: { agent_name: string }) => a.agent_name).sort()).toEqual(
      ['Pager10', 'Pager11', 'Pager12', 'Pager13', 'Pager14', 'Pager15', 'Pager16', 'Pager17', 'Pager18', 'Pager19'],
    );

    const registered = await t.api.get('/api/v1/agents?status=registered&health=unknown&type=pager&limit=500');
    expect(registered.body.items).toHaveLength(12);
    const running = await t.api.get('/api/v1/agents?status=running&type=pager');
    expect(running.body).toEqual({ items: [], next_cursor: null });
  });

  it('treats LIKE wildcards in q literally', async () => {
    const res = await t.api.get('/api/v1/agents?q=%25');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([]);
  });

  it('refuses bad filters, limits and cursors with 400', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=abc', 'status=sleeping', 'health=great', 'label=nocolon', 'cursor=garbage', 'type=Bad Type']) {
      const res = await t.api.get(`/api/v1/agents?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.details.length, query).toBeGreaterThan(0);
    }
  });
});
