// Migrations on an empty database: every table and time-series index exists, and a second
// run applies nothing.
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { migrateLatest, migrationStatus } from '../../server/db/migrate.js';
import { migrations } from '../../migrations/index.js';
import { emptyDatabase as emptyTestDatabase } from '../helpers/test-db.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function emptyDatabase(): Promise<Database> {
  const fresh = await emptyTestDatabase('mig');
  cleanups.push(fresh.drop);
  return fresh.db;
}

describe('migrations', () => {
  it('create the schema on an empty database, in order, once', async () => {
    const db = await emptyDatabase();
    expect((await migrationStatus(db.knex)).pending).toEqual(migrations.map((m) => m.name));
    const applied = await migrateLatest(db.knex);
    expect(applied).toEqual(migrations.map((m) => m.name));
    expect(await migrateLatest(db.knex)).toEqual([]);
    expect((await migrationStatus(db.knex)).pending).toEqual([]);

    const tables = await db.knex('information_schema.tables').where('table_schema', 'public').pluck('table_name');
    for (const table of [
      'agents', 'agent_configs', 'agent_config_versions', 'fleet_config_versions', 'agent_status', 'agent_status_history',
      'agent_recovery_attempts', 'agent_resource_metrics', 'agent_metrics', 'agent_logs',
    ]) {
      expect(tables).toContain(table);
    }

    const indexes = await db.knex('pg_indexes').where('schemaname', 'public').select('tablename', 'indexdef');
    const indexed = (table: string, columns: string) =>
      indexes.some((i: { tablename: string; indexdef: string }) => i.tablename === table && i.indexdef.includes(`(${columns}`));
    expect(indexed('agent_status_history', 'agent_id, created_at')).toBe(true);
    expect(indexed('agent_resource_metrics', 'agent_id, created_at')).toBe(true);
    expect(indexed('agent_metrics', 'agent_id, "timestamp"')).toBe(true);
    expect(indexed('agent_logs', 'agent_id, "timestamp"')).toBe(true);
    expect(indexed('agent_recovery_attempts', 'agent_id, started_at')).toBe(true);
    expect(indexed('agents', 'created_at, id')).toBe(true);
    // Retention and fleet-wide queries read by time alone; restarts are counted from a partial index.
    expect(indexed('agent_resource_metrics', 'created_at)')).toBe(true);
    expect(indexed('agent_metrics', '"timestamp")')).toBe(true);
    expect(indexed('agent_logs', '"timestamp")')).toBe(true);
    expect(indexes.some((i: { indexdef: string }) => i.indexdef.includes('agent_status_history_started_idx') && i.indexdef.includes("WHERE ((event_type)::text = 'process_started'"))).toBe(true);

    const details = await db.knex('information_schema.columns').where({ table_name: 'agent_status_history', column_name: 'details' }).first('data_type');
    expect(details.data_type).toBe('jsonb');

    // Revoked logins, read by every replica; rate-limit counters in the columns rate-limiter-flexible uses.
    const columns = async (table: string) =>
      Object.fromEntries((await db.knex('information_schema.columns').where({ table_name: table }).select('column_name', 'data_type')).map((c: { column_name: string; data_type: string }) => [c.column_name, c.data_type]));
    expect(await columns('revoked_sessions')).toEqual({ family_id: 'uuid', reason: 'character varying', revoked_at: 'timestamp with time zone', expires_at: 'timestamp with time zone' });
    expect(await columns('rate_limits')).toEqual({ key: 'character varying', points: 'integer', expire: 'bigint' });
    expect(indexed('rate_limits', 'expire)')).toBe(true);
  });
});
