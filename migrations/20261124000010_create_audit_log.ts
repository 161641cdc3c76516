// The audit log: one row per mutating request and auth event. Append-only: a trigger
// refuses UPDATE and DELETE, so not even a bug in the AMS can rewrite history.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('time', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.string('actor_type', 16).notNullable();
    t.string('actor_id', 128);
    t.string('actor_name', 128);
    t.string('role', 64);
    t.string('action', 64).notNullable();
    t.string('target', 255);
    t.jsonb('before');
    t.jsonb('after');
    t.string('source', 64);
    t.string('result', 16).notNullable();
    t.integer('status');
    t.string('correlation_id', 128);
    t.jsonb('details');
    t.index(['time', 'id'], 'audit_log_time_idx');
    t.index(['actor_name', 'time'], 'audit_log_actor_time_idx');
    t.index(['action', 'time'], 'audit_log_action_time_idx');
    t.index(['target', 'time'], 'audit_log_target_time_idx');
  });
  await knex.raw(`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$;
  `);
  await knex.raw(`
    CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
  await knex.raw('DROP FUNCTION IF EXISTS audit_log_append_only()');
}
