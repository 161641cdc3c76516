// Retention: metric samples and logs older than their limits are pruned in bounded batches,
// logs beyond the newest N per agent too, and recent rows stay. On PostgreSQL a run is
// skipped while another session holds the advisory lock.
import pino from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { createRetention, RETENTION_LOCK_KEY } from '../../server/monitoring/retention.js';

let t: TestAms;
const DAY = 86_400_000;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  t = await startTestAms({ settings: { metricsRetentionDays: 7, logRetentionDays: 3, logMaxRowsPerAgent: 100 } });
});
afterAll(() => t?.stop());

const advisoryHolders = async () =>
  (await t.ams.db.knex.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = ?`, [RETENTION_LOCK_KEY])).rows[0].n;
const count = async (table: string, where: Record<string, unknown> = {}) => Number((await t.ams.db.knex(table).where(where).count({ n: '*' }).first())!.n);

describe('retention', () => {
  it('prunes metrics and logs older than their limits in batches, and keeps the newest lines per agent', async () => {
    const a = await createAgent(t.api);
    const b = await createAgent(t.api);
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const knex = t.ams.db.knex;
    // 23 old and 5 recent rows per metrics table (old = 8 days, recent = 6 days).
    await knex('agent_resource_metrics').insert([
      ...Array.from({ length: 23 }, (_, i) => ({ agent_id: a.id, metric_type: 'cpu_percent', metric_value: i, created_at: ago(8 * DAY + i) })),
      ...Array.from({ length: 5 }, (_, i) => ({ agent_id: a.id, metric_type: 'cpu_percent', metric_value: i, created_at: ago(6 * DAY + i) })),
    ]);
    await knex('agent_metrics').insert([
      ...Array.from({ length: 23 }, (_, i) => ({ agent_id: b.id, name: 'events_processed', value: i, timestamp: ago(8 * DAY + i) })),
      ...Array.from({ length: 5 }, (_, i) => ({ agent_id: b.id, name: 'events_processed', value: i, timestamp: ago(DAY + i) })),
    ]);
    // Logs: A has 4 lines older than 3 days and 30 recent ones; B has 5 recent ones.
    await knex('agent_logs').insert([
      ...Array.from({ length: 4 }, (_, i) => ({ agent_id: a.id, level: 'INFO', message: `old ${i}`, timestamp: ago(4 * DAY + i) })),
      ...Array.from({ length: 30 }, (_, i) => ({ agent_id: a.id, level: 'INFO', message: `new ${i}`, timestamp: ago(60_000 - i * 1000) })),
      ...Array.from({ length: 5 }, (_, i) => ({ agent_id: b.id, level: 'INFO', message: `b ${i}`, timestamp: ago(i * 1000) })),
    ]);

    const retention = createRetention({ db: t.ams.db, logger, settings: { metricsRetentionDays: 7, logRetentionDays: 3, logMaxRowsPerAgent: 12 }, batch: 5 });
    const result = await retention.run();
    expect(result).toMatchObject({ ran: true, deleted: { agent_resource_metrics: 23, agent_metrics: 23, agent_logs_by_age: 4, agent_logs_by_count: 18 } });

    expect(await count('agent_resource_metrics', { agent_id: a.id })).toBe(5);
    expect(await count('agent_metrics', { agent_id: b.id })).toBe(5);
    const left = await knex('agent_logs').where({ agent_id: a.id }).orderBy('timestamp', 'desc').pluck('message');
    // The newest 12 of A's recent lines (new 29 is the newest).
    expect(left).toEqual(Array.from({ length: 12 }, (_, i) => `new ${29 - i}`));
    expect(await count('agent_logs', { agent_id: b.id })).toBe(5);

    // Nothing more to do on a second run.
    expect((await retention.run()).deleted).toEqual({ agent_resource_metrics: 0, agent_metrics: 0, agent_logs_by_age: 0, agent_logs_by_count: 0 });
  });

  it('prunes each rollup level after its own days, and keeps samples the next level has not rolled up (up to twice their days)', async () => {
    await t.ams.services.rollups.stop();
    const a = await createAgent(t.api);
    const knex = t.ams.db.knex;
    const now = Date.now();
    const at = (ms: number) => new Date(Math.floor((now - ms) / 3_600_000) * 3_600_000).toISOString();
    const bucket = (level: string, ageMs: number) => knex(`metric_rollups_${level}`).insert({ agent_id: a.id, name: 'cpu_percent', bucket: at(ageMs), count: 1, sum: 1, min: 1, max: 1, inc: null, secs: null });
    for (const [level, days] of [['1m', 30], ['5m', 90], ['1h', 365]] as const) {
      await bucket(level, (days + 2) * DAY);
      await bucket(level, (days - 2) * DAY);
    }
    // The 1-minute rollup stopped 9 days ago: samples 8 days old are not rolled up yet, 15 days old ones are too old to wait for.
    await knex('metric_rollup_state').insert([
      { level: '1m', rolled_until: new Date(now - 9 * DAY).toISOString() },
      { level: '5m', rolled_until: new Date(now).toISOString() },
      { level: '1h', rolled_until: new Date(now).toISOString() },
    ]).onConflict('level').merge();
    await knex('agent_resource_metrics').insert([
      { agent_id: a.id, metric_type: 'memory_mb', metric_value: 1, created_at: new Date(now - 8 * DAY).toISOString() },
      { agent_id: a.id, metric_type: 'memory_mb', metric_value: 2, created_at: new Date(now - 15 * DAY).toISOString() },
    ]);
    const retention = createRetention({ db: t.ams.db, logger, settings: { metricsRetentionDays: 7, logRetentionDays: 3, logMaxRowsPerAgent: 100 } });
    const first = await retention.run();
    expect(first.rollups_deleted).toEqual({ '1m': 1, '5m': 1, '1h': 1 });
    for (const level of ['1m', '5m', '1h']) expect(await count(`metric_rollups_${level}`, { agent_id: a.id })).toBe(1);
    expect(await knex('agent_resource_metrics').where({ agent_id: a.id }).pluck('metric_value')).toEqual([1]);
    // Once rolled up, the 8-day-old sample goes too.
    await knex('metric_rollup_state').where({ level: '1m' }).update({ rolled_until: new Date(now).toISOString() });
    await retention.run();
    expect(await count('agent_resource_metrics', { agent_id: a.id })).toBe(0);
  });

  it('the AMS runs its retention with the configured settings', async () => {
    const a = await createAgent(t.api);
    await t.ams.db.knex('agent_logs').insert([
      { agent_id: a.id, level: 'INFO', message: 'too old', timestamp: new Date(Date.now() - 4 * DAY).toISOString() },
      { agent_id: a.id, level: 'INFO', message: 'recent', timestamp: new Date().toISOString() },
    ]);
    const result = await t.ams.services.retention.run();
    expect(result.ran).toBe(true);
    expect(result.deleted.agent_logs_by_age).toBeGreaterThanOrEqual(1);
    expect(await t.ams.db.knex('agent_logs').where({ agent_id: a.id }).pluck('message')).toEqual(['recent']);
  });

  it('takes an advisory lock on PostgreSQL (a replica holding it makes this run skip); PGlite, one process, takes none', async () => {
    const a = await createAgent(t.api);
    const old = { agent_id: a.id, metric_type: 'memory_mb', metric_value: 1, created_at: new Date(Date.now() - 30 * DAY).toISOString() };
    await t.ams.db.knex('agent_resource_metrics').insert(old);
    if (t.ams.db.kind === 'postgres') {
      const other = new pg.Client({ connectionString: t.dbUrl });
      await other.connect();
      try {
        await other.query('SELECT pg_advisory_lock($1::bigint)', [RETENTION_LOCK_KEY]);
        expect(await advisoryHolders()).toBe(1);
        const skipped = await t.ams.services.retention.run();
        expect(skipped.ran).toBe(false);
        expect(await count('agent_resource_metrics', { agent_id: a.id })).toBe(1);
        await other.query('SELECT pg_advisory_unlock($1::bigint)', [RETENTION_LOCK_KEY]);
      } finally {
        await other.end();
      }
    }
    const ran = await t.ams.services.retention.run();
    expect(ran.ran).toBe(true);
    expect(await count('agent_resource_metrics', { agent_id: a.id })).toBe(0);
    if (t.ams.db.kind === 'postgres') {
      // The lock was released: nobody holds it now.
      expect(await advisoryHolders()).toBe(0);
    }
  });
});
