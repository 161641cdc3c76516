// Hosts (DESIGN.md "Cluster"): one row per host id a supervisor has run under. The lease that
// says whether its supervisor is alive lives in NATS; this row keeps what the control plane
// learnt from the host's observations: who it is, its current epoch, and how far its
// observations have been applied (applied_epoch, applied_seq), which makes applying one twice a
// no-op.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hosts', (t) => {
    t.string('id', 64).primary();
    t.string('name', 255).notNullable();
    t.string('address', 255);
    t.string('version', 64);
    t.integer('pid');
    t.text('agents_dir');
    t.timestamp('started_at', { useTz: true, precision: 3 });
    t.timestamp('last_seen', { useTz: true, precision: 3 });
    t.string('status', 16).notNullable().defaultTo('unknown');
    t.timestamp('status_since', { useTz: true, precision: 3 });
    t.integer('epoch').notNullable().defaultTo(0);
    t.integer('applied_epoch').notNullable().defaultTo(0);
    t.bigInteger('applied_seq').notNullable().defaultTo(0);
    t.timestamp('applied_at', { useTz: true, precision: 3 });
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
    t.timestamp('updated_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now(3));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('hosts');
}
