// Recovery policy per agent (issue 5, DESIGN.md "States"): one row per agent that has its
// own; agents without a row use the defaults in server/supervisor/recovery-policy.ts.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('agent_recovery_policies', (t) => {
    t.string('agent_id', 128).primary().references('agents.id').onDelete('CASCADE');
    t.boolean('auto_recovery').notNullable();
    t.integer('max_retries').notNullable();
    t.double('retry_delay').notNullable();
    t.double('backoff_factor').notNullable();
    t.double('max_backoff').notNullable();
    t.double('recovery_timeout').notNullable();
    t.integer('escalation_threshold').notNullable();
    t.double('jitter').notNullable();
    t.double('stable_after').notNullable();
    t.jsonb('notification_channels').notNullable();
    t.string('updated_by', 255).notNullable();
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('agent_recovery_policies');
}
