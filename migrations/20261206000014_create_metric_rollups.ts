// Metric rollups: per agent, series name and bucket (1 minute, 5 minutes, 1 hour) the count,
// sum, min and max of the samples, and their increase (counters: the rise from each sample's
// predecessor, a drop counting as a restart from zero) with the seconds it covers. The rollup
// job (server/monitoring/rollups.ts) fills them up to `metric_rollup_state.rolled_until`;
// samples inserted later with an older time (a backfill, a test) are marked in
// `metric_rollup_dirty` by a trigger, so queries read those minutes raw until the job redoes
// them.
import type { Knex } from 'knex';

const LEVELS = ['1m', '5m', '1h'] as const;

/** Seconds a sample may be older than the clock at insert time before the trigger looks at it (below the job's grace). */
const LATE_AFTER_S = 30;

/**
 * (The name is matched as a range of one, and the rows ordered by it: then only the (agent, name,
 * time) index gives that order, and the planner cannot pick the (agent, time) one, which reads
 * every row of the agent when the name is in the other table.)
 *
 * Statement trigger on a raw table: rows older than the 1-minute rollup's watermark mark their
 * minute dirty, and so does the minute of each one's successor sample (whose increase changed).
 * The common case (fresh rows) costs one scan of the statement's new rows.
 */
function lateRowTrigger(table: 'agent_resource_metrics' | 'agent_metrics'): string {
  const [name, time] = table === 'agent_resource_metrics' ? ['metric_type', 'created_at'] : ['name', 'timestamp'];
  const minute = (col: string) => `to_timestamp(floor(date_part('epoch', ${col}) / 60) * 60)`;
  return `
    CREATE FUNCTION ${table}_mark_late() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      watermark timestamptz;
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_rows WHERE ${time} < clock_timestamp() - interval '${LATE_AFTER_S} seconds') THEN
        RETURN NULL;
      END IF;
      -- Waits for a rollup chunk in progress (it holds the row), so a row is either seen by it or marked.
      SELECT rolled_until INTO watermark FROM metric_rollup_state WHERE level = '1m' FOR SHARE;
      IF watermark IS NULL THEN
        RETURN NULL;
      END IF;
      INSERT INTO metric_rollup_dirty (agent_id, minute)
      SELECT DISTINCT agent_id, ${minute(time)} FROM new_rows WHERE ${time} < watermark
      UNION
      SELECT DISTINCT n.agent_id, ${minute('s.ts')}
      FROM new_rows n
      CROSS JOIN LATERAL (
        SELECT min(ts) AS ts FROM (
          (SELECT created_at AS ts FROM agent_resource_metrics r
            WHERE r.agent_id = n.agent_id AND r.metric_type >= n.${name} AND r.metric_type <= n.${name} AND r.created_at > n.${time} ORDER BY r.metric_type, r.created_at LIMIT 1)
          UNION ALL
          (SELECT m.timestamp FROM agent_metrics m
            WHERE m.agent_id = n.agent_id AND m.name >= n.${name} AND m.name <= n.${name} AND m.timestamp > n.${time} ORDER BY m.name, m.timestamp LIMIT 1)) next) s
      WHERE n.${time} < watermark AND s.ts < watermark
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER ${table}_mark_late AFTER INSERT ON ${table}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${table}_mark_late();`;
}

export async function up(knex: Knex): Promise<void> {
  for (const level of LEVELS) {
    await knex.schema.createTable(`metric_rollups_${level}`, (t) => {
      t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
      t.string('name', 255).notNullable();
      t.timestamp('bucket', { useTz: true, precision: 3 }).notNullable();
      t.integer('count').notNullable();
      t.double('sum').notNullable();
      t.double('min').notNullable();
      t.double('max').notNullable();
      // Null when no sample of the bucket has a predecessor (the first sample ever, alone).
      t.double('inc');
      t.double('secs');
      // A series query reads one agent's buckets over a range; the fleet query and pruning by time.
      t.primary(['agent_id', 'bucket', 'name']);
      t.index(['bucket'], `metric_rollups_${level}_bucket_idx`);
    });
  }
  await knex.schema.createTable('metric_rollup_state', (t) => {
    t.string('level', 8).primary();
    // Every bucket before this is rolled up (and samples inserted later before it are marked dirty).
    t.timestamp('rolled_until', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
  await knex.schema.createTable('metric_rollup_dirty', (t) => {
    t.string('agent_id', 128).notNullable().references('agents.id').onDelete('CASCADE');
    t.timestamp('minute', { useTz: true, precision: 3 }).notNullable();
    t.primary(['agent_id', 'minute']);
    t.index(['minute'], 'metric_rollup_dirty_minute_idx');
  });
  await knex.raw(lateRowTrigger('agent_resource_metrics'));
  await knex.raw(lateRowTrigger('agent_metrics'));
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['agent_resource_metrics', 'agent_metrics']) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${table}_mark_late ON ${table}`);
    await knex.raw(`DROP FUNCTION IF EXISTS ${table}_mark_late()`);
  }
  await knex.schema.dropTable('metric_rollup_dirty');
  await knex.schema.dropTable('metric_rollup_state');
  for (const level of LEVELS) await knex.schema.dropTable(`metric_rollups_${level}`);
}
