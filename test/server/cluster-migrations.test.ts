// The cluster migrations (20261206000001-4): hosts, desired state (backfilled from what ran),
// packages per host, the observed-status columns; names unique per host; each down() undoes its up().
import { afterAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { migrations } from '../../migrations/index.js';
import { emptyDatabase } from '../helpers/test-db.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const mine = migrations.filter((m) => /^2026120600000[1-4]_/.test(m.name));
const before = migrations.slice(0, migrations.indexOf(mine[0]));
const up = async (knex: Knex, list: typeof migrations) => {
  for (const m of list) await knex.transaction(async (trx) => void (await m.up(trx)));
};
const columns = async (knex: Knex, table: string) => (await knex('information_schema.columns').where({ table_schema: 'public', table_name: table }).pluck('column_name')).sort();

describe('cluster migrations', () => {
  it('backfill the desired state from what ran, key packages by host, and go down again', async () => {
    const fresh = await emptyDatabase('cmig');
    cleanups.push(fresh.drop);
    const knex = fresh.db.knex;
    expect(mine.map((m) => m.name)).toEqual(['20261206000001_create_hosts', '20261206000002_add_desired_state', '20261206000003_packages_per_host', '20261206000004_observed_status']);
    await up(knex, before);
    const agent = (id: string, name: string, process_status: string, recovery_status = 'none') => ({ id, name, process_status, recovery_status });
    const rows = [
      agent('security-00000000-0000-4000-8000-000000000001', 'Running', 'running'),
      agent('security-00000000-0000-4000-8000-000000000002', 'Degraded', 'degraded'),
      agent('security-00000000-0000-4000-8000-000000000003', 'Recovering', 'failed', 'in_progress'),
      agent('security-00000000-0000-4000-8000-000000000004', 'Stopped', 'stopped'),
      agent('security-00000000-0000-4000-8000-000000000005', 'Failed', 'failed', 'failed'),
    ];
    for (const r of rows) {
      await knex('agents').insert({ id: r.id, name: r.name, type: 'security', version: '1.0.0' });
      await knex('agent_status').insert({ agent_id: r.id, process_status: r.process_status, health_status: 'unknown', recovery_status: r.recovery_status });
    }
    await knex('agent_packages').insert({ path: 'running', status: 'registered', agent_id: rows[0].id });
    await up(knex, mine);

    const desired = Object.fromEntries((await knex('agents').select('name', 'desired_state', 'held', 'host_id')).map((r) => [r.name, r]));
    expect(desired).toMatchObject({
      Running: { desired_state: 'running', held: false, host_id: null },
      Degraded: { desired_state: 'running' },
      Recovering: { desired_state: 'running' },
      Stopped: { desired_state: 'stopped' },
      Failed: { desired_state: 'stopped' },
    });
    // Names are unique per host: the same package on two hosts is two agents.
    await knex('hosts').insert([{ id: 'h1', name: 'h1' }, { id: 'h2', name: 'h2' }]);
    await knex('agents').insert({ id: 'security-00000000-0000-4000-8000-000000000011', name: 'Twin', type: 'security', version: '1.0.0', host_id: 'h1' });
    await knex('agents').insert({ id: 'security-00000000-0000-4000-8000-000000000012', name: 'Twin', type: 'security', version: '1.0.0', host_id: 'h2' });
    await expect(knex('agents').insert({ id: 'security-00000000-0000-4000-8000-000000000013', name: 'Twin', type: 'security', version: '1.0.0', host_id: 'h1' })).rejects.toMatchObject({ code: '23505' });
    await expect(knex('agents').insert({ id: 'security-00000000-0000-4000-8000-000000000014', name: 'Running', type: 'security', version: '1.0.0' })).rejects.toMatchObject({ code: '23505' });
    await knex('agent_packages').insert([{ host_id: 'h1', path: 'twin', status: 'registered' }, { host_id: 'h2', path: 'twin', status: 'registered' }]);
    await expect(knex('agent_packages').insert({ host_id: 'h1', path: 'twin', status: 'registered' })).rejects.toMatchObject({ code: '23505' });
    expect(await columns(knex, 'agent_status')).toEqual(expect.arrayContaining(['health_reasons', 'adopted', 'latest_metrics', 'recovery_state']));

    await knex('agents').whereIn('id', ['security-00000000-0000-4000-8000-000000000011', 'security-00000000-0000-4000-8000-000000000012']).delete();
    await knex('agent_packages').whereNotNull('host_id').delete();
    for (const m of [...mine].reverse()) await knex.transaction(async (trx) => void (await m.down!(trx)));
    expect(await columns(knex, 'hosts')).toEqual([]);
    expect(await columns(knex, 'package_scans')).toEqual([]);
    expect(await columns(knex, 'agents')).not.toContain('desired_state');
    expect(await columns(knex, 'agent_status')).not.toContain('latest_metrics');
    expect(await columns(knex, 'agent_packages')).not.toContain('host_id');
    // Up again on the same rows: the state before is recovered.
    await up(knex, mine);
    expect((await knex('agents').where({ name: 'Running' }).first()).desired_state).toBe('running');
  });
});
