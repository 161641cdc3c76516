// Which silence muted an alert's notification when it was raised (null: it was notified as
// routed). The alert itself is recorded either way; only the sending is skipped.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('alerts', (t) => {
    t.bigInteger('silence_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('alerts', (t) => {
    t.dropColumn('silence_id');
  });
}
