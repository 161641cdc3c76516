// Opens the AMS database: embedded PGlite (in a worker thread, served over a private unix
// socket so that both databases go through the same `pg` driver and Knex code path) or an
// external PostgreSQL. The only module that decides which one; everything else sees a Knex.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { DatabaseUnavailable } from '../errors.js';
import { readTemplate } from './pglite-template.js';
import { type PgliteOrigin, type PgliteWorker, startPgliteWorker } from './pglite-worker.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  knex: Knex;
  kind: DatabaseKind;
  /** PGlite: whether this start loaded the shipped template, created an empty database or opened an existing one. */
  origin?: 'template' | 'created' | 'opened';
  /** Round trip to the database in ms; throws DatabaseUnavailable when it cannot be reached. */
  ping(): Promise<number>;
  /**
   * A connection of its own, outside the pool (PostgreSQL only): for a session-level advisory
   * lock held as long as some singleton work runs.
   */
  session?(): Promise<pg.Client>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** External PostgreSQL; when absent PGlite opens `<dataDir>/db`. */
  dbUrl?: string;
  dataDir: string;
  /** Pool size for PostgreSQL (PGlite always has exactly one connection). */
  poolMax?: number;
  /**
   * A migrated PGlite database to start from when `<dataDir>/db` does not exist yet
   * (pglite-template.ts); ignored when it does not fit this AMS.
   */
  pgliteTemplate?: string;
  /** Where Knex's own warnings go (it prints to the console otherwise). */
  logger?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

// COUNT(*) and BIGSERIAL come back as int8 strings by default; our counts and ids fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const log = knexLog(opts.logger);
  return opts.dbUrl ? openPostgres(opts.dbUrl, opts.poolMax ?? 10, log) : openPglite(path.join(opts.dataDir, 'db'), log, opts.pgliteTemplate, opts.logger);
}

function knexLog(logger: OpenDatabaseOptions['logger']): Knex.Config['log'] {
  const text = (m: unknown) => (m instanceof Error ? m.message : String(m));
  return {
    warn: (m: unknown) => logger?.warn({ detail: text(m) }, 'database warning'),
    error: (m: unknown) => logger?.warn({ detail: text(m) }, 'database error'),
    deprecate: (m: unknown) => logger?.debug({ detail: text(m) }, 'database deprecation'),
    debug: (m: unknown) => logger?.debug({ detail: text(m) }, 'database debug'),
  };
}

function openPostgres(url: string, poolMax: number, log: Knex.Config['log']): Database {
  const knex = knexFactory({
    log,
    client: 'pg',
    connection: {
      connectionString: url,
      connectionTimeoutMillis: 3000,
      statement_timeout: 30_000,
      application_name: 'opmas-ams',
      // The AMS's queries are short: starting parallel workers costs more than they save (5 to
      // 10 ms on a small machine, measured on the metrics queries), so none are started.
      options: '-c max_parallel_workers_per_gather=0',
    } as Knex.PgConnectionConfig,
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 4000,
  });
  return withPing({
    knex,
    kind: 'postgres',
    async session() {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000, application_name: 'opmas-ams-singleton' });
      // A dropped connection is noticed by the holder's next query; the event must not go unhandled.
      client.on('error', () => undefined);
      await client.connect();
      return client;
    },
    close: () => knex.destroy(),
  });
}

async function openPglite(dir: string, log: Knex.Config['log'], template?: string, logger?: OpenDatabaseOptions['logger']): Promise<Database> {
  // A database that was never created starts from the shipped template when there is one. The
  // marker beside it says a load was under way: a load cut short is started over, not opened.
  const loading = `${dir}.loading`;
  if (fs.existsSync(loading)) fs.rmSync(dir, { recursive: true, force: true });
  const tarball = fs.existsSync(path.join(dir, 'PG_VERSION')) ? undefined : readTemplate(template);
  if (tarball) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.writeFileSync(loading, '');
  }
  const expected: PgliteOrigin = tarball ? 'template' : fs.existsSync(path.join(dir, 'PG_VERSION')) ? 'opened' : 'created';
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A private 0700 directory keeps the unauthenticated socket away from other local users,
  // and stays short enough for the unix socket path limit wherever the data dir is.
  const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-db-'));
  fs.chmodSync(socketDir, 0o700);
  let worker: PgliteWorker;
  try {
    worker = await startPgliteWorker({
      dir,
      socket: path.join(socketDir, '.s.PGSQL.5432'),
      tarball,
      origin: expected,
      onExit: (detail) => logger?.warn({ detail }, 'the embedded database stopped; restart the AMS'),
    });
  } catch (err) {
    fs.rmSync(socketDir, { recursive: true, force: true });
    throw err;
  }
  fs.rmSync(loading, { force: true });
  const knex = knexFactory({
    log,
    client: 'pg',
    connection: { host: socketDir, port: 5432, user: 'postgres', database: 'postgres' },
    // PGlite executes one statement at a time; one pooled connection keeps transactions whole.
    pool: {
      min: 0,
      max: 1,
      idleTimeoutMillis: 600_000,
      // PGlite has one session for every socket connection: prepared statements of a closed
      // connection outlive it, and a new connection that prepares the same name would fail.
      afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
        conn.query('DEALLOCATE ALL').then(() => done(null, conn), (err: Error) => done(err, conn));
      },
    },
    acquireConnectionTimeout: 60_000,
  });
  return withPing({
    knex,
    kind: 'pglite',
    origin: worker.origin,
    async close() {
      await knex.destroy();
      await worker.close();
      fs.rmSync(socketDir, { recursive: true, force: true });
    },
  });
}

function withPing(db: Omit<Database, 'ping'>): Database {
  return {
    ...db,
    async ping() {
      const started = performance.now();
      try {
        await db.knex.raw('select 1');
      } catch (err) {
        throw asDatabaseUnavailable(err) ?? err;
      }
      return performance.now() - started;
    },
  };
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOENT',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300',
]);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection ended',
  'connect ECONNREFUSED',
  'Knex: Timeout acquiring a connection',
  'the database system is',
  // ALLOW_CONNECTIONS false (an operator closing the database for maintenance).
  'is not currently accepting connections',
];

/** Maps a driver/pool error that means "the database cannot be reached" to DatabaseUnavailable. */
export function asDatabaseUnavailable(err: unknown): DatabaseUnavailable | undefined {
  if (err instanceof DatabaseUnavailable) return err;
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if ((typeof code === 'string' && CONNECTION_CODES.has(code)) || err.name === 'KnexTimeoutError') {
    return new DatabaseUnavailable(describe(err));
  }
  if (CONNECTION_MESSAGES.some((m) => err.message.includes(m))) return new DatabaseUnavailable(describe(err));
  return undefined;
}

/** PostgreSQL's conflicts between transactions (deadlock, serialization failure, lock not available): the same work succeeds when tried again. */
const CONFLICT_CODES = new Set(['40P01', '40001', '55P03']);

export function isTransientConflict(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CONFLICT_CODES.has(code);
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (err.name === 'KnexTimeoutError') return 'no connection could be obtained in time';
  return typeof code === 'string' ? `connection failed (${code})` : 'connection failed';
}
