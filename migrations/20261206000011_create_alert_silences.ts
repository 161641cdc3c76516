// Alert silences: an operator mutes the notifications of one agent, one rule, or one rule of
// one agent, for a while, with a reason. A silence ends by itself at `ends_at` (nothing has to
// run for that: "active" is `ends_at > now()` and not ended early); ending it early keeps the
// row, so what was silenced, by whom and why stays readable.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alert_silences', (t) => {
    t.bigIncrements('id');
    // No foreign key to the agent, as for alerts: a silence is history too.
    t.string('agent_id', 128);
    t.string('rule', 64);
    t.text('reason').notNullable();
    t.string('created_by', 128).notNullable();
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('starts_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('ends_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('ended_at', { useTz: true, precision: 3 });
    t.string('ended_by', 128);
    t.index(['ends_at'], 'alert_silences_ends_at_idx');
  });
  await knex.raw('ALTER TABLE alert_silences ADD CONSTRAINT alert_silences_target_check CHECK (agent_id IS NOT NULL OR rule IS NOT NULL)');
  await knex.raw('ALTER TABLE alert_silences ADD CONSTRAINT alert_silences_span_check CHECK (ends_at > starts_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alert_silences');
}
