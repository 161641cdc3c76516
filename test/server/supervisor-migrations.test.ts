// The supervisor's migrations (20261124000015-18): the policy table, the attempt context,
// exit and config-version columns of agent_status, the apply status of config versions;
// each one's down() undoes exactly what its up() did.
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrate.js';
import { migrations } from '../../migrations/index.js';
import { emptyDatabase as emptyTestDatabase } from '../helpers/test-db.js';

let db: Database;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function emptyDatabase(): Promise<Database> {
  const fresh = await emptyTestDatabase('smig');
  cleanups.push(fresh.drop);
  return fresh.db;
}

const columns = async (table: string) => (await db.knex('information_schema.columns').where({ table_schema: 'public', table_name: table }).pluck('column_name')).sort();

describe('supervisor migrations', () => {
  it('add the policy table and the new columns, and their down() removes exactly them', async () => {
    db = await emptyDatabase();
    await migrateLatest(db.knex);
    const mine = migrations.filter((m) => /^2026112400001[5-8]_/.test(m.name));
    expect(mine.map((m) => m.name)).toEqual([
      '20261124000015_create_agent_recovery_policies',
      '20261124000016_add_recovery_attempt_context',
      '20261124000017_add_process_exit_and_config_version',
      '20261124000018_add_config_version_apply_status',
    ]);
    const after = {
      policies: await columns('agent_recovery_policies'),
      attempts: await columns('agent_recovery_attempts'),
      status: await columns('agent_status'),
      versions: await columns('agent_config_versions'),
    };
    expect(after.policies).toEqual(
      ['agent_id', 'auto_recovery', 'backoff_factor', 'escalation_threshold', 'jitter', 'max_backoff', 'max_retries', 'notification_channels', 'recovery_timeout', 'retry_delay', 'stable_after', 'updated_at', 'updated_by'].sort(),
    );
    expect(after.attempts).toEqual(expect.arrayContaining(['trigger', 'episode_started_at', 'details']));
    expect(after.status).toEqual(expect.arrayContaining(['exit_code', 'exit_signal', 'config_version', 'config_since', 'stable_config_version']));
    expect(after.versions).toEqual(expect.arrayContaining(['apply_status', 'apply_error', 'applied_at']));

    for (const m of [...mine].reverse()) await db.knex.transaction(async (trx) => { await m.down!(trx); });
    expect(await columns('agent_recovery_policies')).toEqual([]);
    expect(await columns('agent_recovery_attempts')).toEqual(after.attempts.filter((c) => !['trigger', 'episode_started_at', 'details'].includes(c)));
    expect(await columns('agent_status')).toEqual(after.status.filter((c) => !['exit_code', 'exit_signal', 'config_version', 'config_since', 'stable_config_version'].includes(c)));
    expect(await columns('agent_config_versions')).toEqual(after.versions.filter((c) => !['apply_status', 'apply_error', 'applied_at'].includes(c)));

    for (const m of mine) await db.knex.transaction(async (trx) => { await m.up(trx); });
    expect(await columns('agent_recovery_policies')).toEqual(after.policies);
    expect(await columns('agent_status')).toEqual(after.status);
  });
});
