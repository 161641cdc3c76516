// Runs the static migration list (migrations/index.ts) with Knex's migrator.
import type { Knex } from 'knex';
import { migrations, type NamedMigration } from '../../migrations/index.js';

const source: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

/**
 * Whether every migration of the list is applied already, in one query: the common start, which
 * then skips the migrator (its table checks and lock cost several round trips).
 */
async function upToDate(knex: Knex): Promise<boolean> {
  try {
    const done = new Set(await knex('knex_migrations').pluck<string[]>('name'));
    return migrations.every((m) => done.has(m.name));
  } catch {
    return false; // no migrations table yet
  }
}

/** Brings the schema to the newest migration; returns the names applied now. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  if (await upToDate(knex)) return [];
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

export async function migrationStatus(knex: Knex): Promise<{ applied: string[]; pending: string[] }> {
  const [done, pending] = (await knex.migrate.list({ migrationSource: source })) as [
    Array<{ name: string }>,
    NamedMigration[],
  ];
  return { applied: done.map((m) => m.name), pending: pending.map((m) => m.name) };
}
