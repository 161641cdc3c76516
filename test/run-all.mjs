#!/usr/bin/env node
// `npm test`: every test. Unit tests, the broker suite (real nats-server), then the server suite
// on PGlite and again on a real PostgreSQL (OPMAS_TEST_PG_URL, or a throwaway cluster started here).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startThrowawayPostgres } from './support/postgres.mjs';

const root = path.resolve(import.meta.dirname, '..');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const extra = process.argv.slice(2);

function step(title, args, env = {}) {
  console.log(`\n=== ${title} ===`);
  const res = spawnSync(process.execPath, [vitest, 'run', ...args, ...extra], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (res.status !== 0) {
    console.error(`\n${title}: failed`);
    process.exit(res.status ?? 1);
  }
}

step('unit', ['--project', 'unit']);
// The broker layer, agent SDK and sample agents against a real nats-server; no database.
step('broker', ['--project', 'broker']);
step('server on PGlite', ['--project', 'server'], { OPMAS_TEST_DB: 'pglite' });

let pg;
let pgUrl = process.env.OPMAS_TEST_PG_URL;
if (!pgUrl) {
  try {
    pg = await startThrowawayPostgres();
  } catch (err) {
    console.error(`\nserver on PostgreSQL: ${err.message}`);
    process.exit(1);
  }
  pgUrl = pg.url;
}
try {
  step('server on PostgreSQL', ['--project', 'server'], { OPMAS_TEST_DB: 'postgres', OPMAS_TEST_PG_URL: pgUrl });
} finally {
  await pg?.stop();
}
console.log('\nall tests passed');
