// The embedded database runs in a thread of its own: while PGlite executes a long statement,
// the AMS's event loop keeps turning (HTTP requests and broker messages are served), and
// closing the database ends the thread.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-pglite-thread-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('PGlite in a worker thread', () => {
  it('leaves the event loop free while a statement runs, and ends its thread on close', async () => {
    const db = await openDatabase({ dataDir });
    let turns = 0;
    let running = true;
    const spin = () => {
      if (!running) return;
      turns += 1;
      setImmediate(spin);
    };
    try {
      await db.knex.raw('select 1');
      setImmediate(spin);
      // A statement that keeps PGlite busy for a while (millions of rows generated and counted).
      const { rows } = await db.knex.raw('SELECT count(*)::int AS n FROM generate_series(1, 1000000)');
      running = false;
      expect(rows[0].n).toBe(1_000_000);
      // Run on this thread, the WebAssembly would have held the loop for the whole statement:
      // at most a handful of turns (before and after it). Here the loop turned throughout.
      expect(turns).toBeGreaterThan(1000);
    } finally {
      running = false;
      await db.close();
    }
    // Reopening works: the thread released the directory.
    const again = await openDatabase({ dataDir });
    expect((await again.knex.raw('select 1 AS one')).rows[0].one).toBe(1);
    await again.close();
  }, 120_000);
});
