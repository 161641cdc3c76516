// Singleton jobs across AMS replicas: a PostgreSQL session advisory lock held on a connection of
// its own for the length of a run. PGlite serves one process through one connection, so no
// other replica can contend, and holding that connection aside would block every other query:
// there the job just runs.
import type { Knex } from 'knex';
import type { Database } from './database.js';

/** Runs `fn` holding advisory lock `key`; undefined when another session holds it. */
export async function withAdvisoryLock<T>(db: Database, key: number, fn: () => Promise<T>): Promise<T | undefined> {
  if (db.kind === 'pglite') return fn();
  const client = db.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const conn = await client.acquireConnection();
  const onConn = (sql: string) => db.knex.raw(sql, [key]).connection(conn as Knex.Client) as unknown as Promise<{ rows: Array<{ ok: boolean }> }>;
  try {
    const { rows } = await onConn('SELECT pg_try_advisory_lock(?::bigint) AS ok');
    if (!rows[0]?.ok) return undefined;
    try {
      return await fn();
    } finally {
      await onConn('SELECT pg_advisory_unlock(?::bigint) AS ok');
    }
  } finally {
    await client.releaseConnection(conn);
  }
}
