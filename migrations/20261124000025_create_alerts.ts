// Alerts raised by the built-in rules. agent_id has no foreign key on purpose: an alert is
// history that must outlive its agent (what happened to an agent that was later deleted is
// still worth reading), and deleting an agent must neither cascade into nor be blocked by it.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alerts', (t) => {
    t.bigIncrements('id');
    t.string('rule', 64).notNullable();
    t.string('severity', 16).notNullable();
    t.string('status', 16).notNullable().defaultTo('open');
    t.string('agent_id', 128);
    t.text('title').notNullable();
    t.text('message').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.string('dedup_key', 512).notNullable();
    t.integer('count').notNullable().defaultTo(1);
    t.timestamp('first_seen_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('last_seen_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('acknowledged_at', { useTz: true, precision: 3 });
    t.string('acknowledged_by', 128);
    t.timestamp('resolved_at', { useTz: true, precision: 3 });
    t.text('resolved_reason');
    t.index(['status', 'id'], 'alerts_status_id_idx');
    t.index(['agent_id', 'id'], 'alerts_agent_id_idx');
    t.index(['rule', 'id'], 'alerts_rule_id_idx');
    t.index(['severity', 'id'], 'alerts_severity_id_idx');
  });
  await knex.raw(`ALTER TABLE alerts ADD CONSTRAINT alerts_severity_check CHECK (severity IN ('info', 'warning', 'critical'))`);
  await knex.raw(`ALTER TABLE alerts ADD CONSTRAINT alerts_status_check CHECK (status IN ('open', 'acknowledged', 'resolved'))`);
  // Deduplication: at most one unresolved alert per key (rule + agent (+ metric)); concurrent
  // raisers (two AMS replicas) meet here instead of creating twins.
  await knex.raw(`CREATE UNIQUE INDEX alerts_active_dedup_idx ON alerts (dedup_key) WHERE status <> 'resolved'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alerts');
}
