// An agent's logs over the API: newest first, minimum level, time range, message search,
// cursor pages, bad input, and who may read them; plus lines arriving from a real agent
// connection through the broker and ingest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { connectWithCreds } from '../helpers/broker.js';
import { eventually } from '../helpers/wait.js';
import { subjects } from '../../server/broker/subjects.js';

let t: TestAms;
let a: { id: string; nats: { url: string; creds: string } | null };
let b: { id: string };
const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
const T0 = Date.now() - 3_600_000;

beforeAll(async () => {
  t = await startTestAms();
  a = await createAgent(t.api);
  b = await createAgent(t.api);
  // 40 lines, one a second; every fourth mentions the disk; levels cycle.
  await t.ams.db.knex('agent_logs').insert(
    Array.from({ length: 40 }, (_, i) => ({
      agent_id: a.id,
      level: LEVELS[i % 5],
      message: i % 4 === 0 ? `line ${i}: Disk FULL on /var (100%_used)` : `line ${i}: all good`,
      context: JSON.stringify({ i }),
      source: i % 2 ? 'stdout' : 'nats',
      timestamp: new Date(T0 + i * 1000).toISOString(),
    })),
  );
  await t.ams.db.knex('agent_logs').insert({ agent_id: b.id, level: 'ERROR', message: 'other agent', source: 'nats', timestamp: new Date(T0).toISOString() });
});
afterAll(() => t?.stop());

const logsOf = (id: string, query = '') => t.api.get(`/api/v1/agents/${id}/logs${query ? `?${query}` : ''}`);
const lineNo = (item: { message: string }) => Number(/^line (\d+)/.exec(item.message)![1]);

describe('GET /api/v1/agents/{id}/logs', () => {
  it('answers the agent\'s lines newest first, in the contract shape', async () => {
    const res = await logsOf(a.id);
    expect(res.status).toBe(200);
    expect(res.body.items).toHaveLength(40);
    expect(res.body.items.map(lineNo)).toEqual(Array.from({ length: 40 }, (_, i) => 39 - i));
    expect(res.body.items[0]).toEqual({
      id: expect.any(Number),
      agent_id: a.id,
      level: 'CRITICAL',
      message: 'line 39: all good',
      context: { i: 39 },
      source: 'stdout',
      timestamp: new Date(T0 + 39_000).toISOString(),
    });
    expect(res.body.next_cursor).toBeNull();
  });

  it('keeps lines at or above the minimum level (case-insensitive; WARN means WARNING)', async () => {
    for (const level of ['warning', 'WARN']) {
      const res = await logsOf(a.id, `level=${level}`);
      expect(res.status).toBe(200);
      expect(new Set(res.body.items.map((i: { level: string }) => i.level))).toEqual(new Set(['WARNING', 'ERROR', 'CRITICAL']));
      expect(res.body.items).toHaveLength(24);
    }
    expect((await logsOf(a.id, 'level=CRITICAL')).body.items.map(lineNo)).toEqual([39, 34, 29, 24, 19, 14, 9, 4]);
  });

  it('searches the message case-insensitively and literally', async () => {
    const res = await logsOf(a.id, 'q=disk%20full');
    expect(res.body.items.map(lineNo)).toEqual([36, 32, 28, 24, 20, 16, 12, 8, 4, 0]);
    // % and _ are not wildcards.
    expect((await logsOf(a.id, `q=${encodeURIComponent('100%_used')}`)).body.items).toHaveLength(10);
    expect((await logsOf(a.id, `q=${encodeURIComponent('1%d')}`)).body.items).toHaveLength(0);
  });

  it('filters by time: since inclusive, until exclusive, ISO or epoch ms', async () => {
    const since = new Date(T0 + 10_000).toISOString();
    const res = await logsOf(a.id, `since=${encodeURIComponent(since)}&until=${T0 + 15_000}`);
    expect(res.body.items.map(lineNo)).toEqual([14, 13, 12, 11, 10]);
  });

  it('pages with a cursor without gaps or repeats, filters applied on every page', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: Array<{ message: string }>; next_cursor: string | null } } = await logsOf(a.id, `level=INFO&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.body.items.map(lineNo));
      cursor = res.body.next_cursor;
    } while (cursor);
    const expected = Array.from({ length: 40 }, (_, i) => 39 - i).filter((i) => i % 5 !== 0);
    expect(seen).toEqual(expected);
  });

  it('refuses bad input with a 400 naming each field, and unknown agents with 404', async () => {
    const res = await logsOf(a.id, 'level=LOUD&since=yesterday&limit=0&cursor=zzz');
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['level', 'limit', 'since']);
    const cursor = await logsOf(a.id, 'cursor=bm90LWEtY3Vyc29y');
    expect(cursor.status).toBe(400);
    expect(cursor.body.error.details[0].path).toBe('cursor');
    expect((await logsOf('security-00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('read-only reads any agent; an agent principal only its own', async () => {
    const ro = await t.userWith('read-only');
    expect((await ro.api.get(`/api/v1/agents/${b.id}/logs`)).body.items[0].message).toBe('other agent');
    const own = await t.userWith('agent', a.id);
    expect((await own.api.get(`/api/v1/agents/${a.id}/logs?limit=1`)).status).toBe(200);
    expect((await own.api.get(`/api/v1/agents/${b.id}/logs`)).status).toBe(403);
    expect((await t.anon.get(`/api/v1/agents/${a.id}/logs`)).status).toBe(401);
  });

  it('shows lines an agent publishes over the broker', async () => {
    const agent = await createAgent(t.api);
    const nc = await connectWithCreds(agent.nats!.url, agent.nats!.creds);
    try {
      nc.publish(subjects.agent(agent.id).logs, JSON.stringify({ level: 'ERROR', message: 'published over NATS', timestamp: new Date().toISOString(), context: { k: 1 } }));
      await nc.flush();
      const res = await eventually(() => logsOf(agent.id, 'level=ERROR'), (r) => r.body.items?.length === 1, 'the published line');
      expect(res.body.items[0]).toMatchObject({ level: 'ERROR', message: 'published over NATS', context: { k: 1 }, source: 'nats' });
    } finally {
      await nc.close();
    }
  });
});
