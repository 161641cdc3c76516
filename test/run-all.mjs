#!/usr/bin/env node
// `npm test`: every test. Unit tests, the desktop main-process suite inside a private OS
// keychain (test/support/with-keyring.sh), then the server suite on PGlite and again on a
// real PostgreSQL (OPMAS_TEST_PG_URL, or a throwaway cluster started here).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startThrowawayPostgres } from './support/postgres.mjs';

const root = path.resolve(import.meta.dirname, '..');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const extra = process.argv.slice(2);

function step(title, args, env = {}, wrapper = []) {
  console.log(`\n=== ${title} ===`);
  const command = [...wrapper, process.execPath, vitest, 'run', ...args, ...extra];
  const res = spawnSync(command[0], command.slice(1), { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (res.status !== 0) {
    console.error(`\n${title}: failed`);
    process.exit(res.status ?? 1);
  }
}

step('unit', ['--project', 'unit']);
step('desktop (main process, preload, package) with a private keychain', ['--project', 'desktop'], {}, [path.join(root, 'test/support/with-keyring.sh')]);
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
