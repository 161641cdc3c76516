// Which database the server tests run on, and how each test AMS gets a fresh one quickly:
// a copy of a migrated PGlite template dir, or CREATE DATABASE ... TEMPLATE on PostgreSQL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../server/db/database.js';

export type TestDbKind = 'pglite' | 'postgres';

export function testDbKind(): TestDbKind {
  const kind = process.env.OPMAS_TEST_DB ?? 'pglite';
  if (kind !== 'pglite' && kind !== 'postgres') throw new Error(`OPMAS_TEST_DB must be pglite or postgres, got ${kind}`);
  return kind;
}

/** The admin URL of the PostgreSQL the tests may create databases on. */
export function testPgUrl(): string {
  const url = process.env.OPMAS_TEST_PG_URL;
  if (!url) throw new Error('OPMAS_TEST_DB=postgres needs OPMAS_TEST_PG_URL (an admin URL of a PostgreSQL server)');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface FreshDb {
  /** Set for PostgreSQL. */
  dbUrl?: string;
  drop(): Promise<void>;
}

/** A fresh migrated database for one test AMS whose data dir is `dataDir`. */
export async function freshDatabase(dataDir: string, template: string): Promise<FreshDb> {
  if (testDbKind() === 'pglite') {
    fs.cpSync(path.join(template, 'db'), path.join(dataDir, 'db'), { recursive: true });
    return { drop: async () => undefined };
  }
  const name = `opmas_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  return {
    dbUrl: withDatabase(testPgUrl(), name),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * An empty (unmigrated) database of the kind under test, in a new temp data dir; `drop` closes
 * it and removes it.
 */
export async function emptyDatabase(prefix: string): Promise<{ db: Database; drop: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `opmas-${prefix}-`));
  if (testDbKind() === 'pglite') {
    const db = await openDatabase({ dataDir: dir });
    return {
      db,
      drop: async () => {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `opmas_${prefix}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const db = await openDatabase({ dataDir: dir, dbUrl: withDatabase(testPgUrl(), name) });
  return {
    db,
    drop: async () => {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
