#!/usr/bin/env node
// `npm test`: every test. Unit tests, a clean clone started as the README says, the broker suite (real nats-server), the console in
// Chromium (e2e), the desktop
// main-process suite inside a private OS keychain (test/support/with-keyring.sh), then the
// server suite on PGlite and again on a real PostgreSQL (OPMAS_TEST_PG_URL, or a throwaway
// cluster started here).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkLogsForSecrets } from './support/check-secrets.mjs';
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

/** After a server run: none of the secrets its tests created may appear in the AMS logs it wrote. */
function checkSecrets(title, logDir) {
  const problems = checkLogsForSecrets(logDir);
  if (problems.length > 0) {
    console.error(`\n${title}: secrets in logs:\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log(`${title}: no recorded secret appears in the AMS logs`);
  fs.rmSync(logDir, { recursive: true, force: true });
}
const logDir = (name) => fs.mkdtempSync(path.join(os.tmpdir(), `opmas-logs-${name}-`));

step('unit', ['--project', 'unit']);
// The newcomer's path: the committed tree, npm ci offline from the local cache, npm run serve.
const newcomerLogs = logDir('newcomer');
step('a clean clone: npm ci --offline, npm run serve, a sample agent healthy', ['--project', 'newcomer'], { OPMAS_TEST_LOG_DIR: newcomerLogs });
checkSecrets('a clean clone', newcomerLogs);
// The broker layer, agent SDK and sample agents against a real nats-server; no database.
step('broker', ['--project', 'broker']);
// The built console in Chromium against a real AMS on PGlite; screenshots go to
// test-results/screenshots (or OPMAS_SCREENSHOT_DIR).
const e2eLogs = logDir('e2e');
step('console end to end in Chromium', ['--project', 'e2e'], { OPMAS_TEST_DB: 'pglite', OPMAS_TEST_LOG_DIR: e2eLogs });
checkSecrets('console end to end', e2eLogs);
const desktopLogs = logDir('desktop');
step('desktop (main process, preload, package) with a private keychain', ['--project', 'desktop'], { OPMAS_TEST_DB: 'pglite', OPMAS_TEST_LOG_DIR: desktopLogs }, [
  path.join(root, 'test/support/with-keyring.sh'),
]);
checkSecrets('desktop', desktopLogs);
const pgliteLogs = logDir('pglite');
step('server on PGlite', ['--project', 'server'], { OPMAS_TEST_DB: 'pglite', OPMAS_TEST_LOG_DIR: pgliteLogs });
checkSecrets('server on PGlite', pgliteLogs);

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
  const pgLogs = logDir('postgres');
  step('server on PostgreSQL', ['--project', 'server'], { OPMAS_TEST_DB: 'postgres', OPMAS_TEST_PG_URL: pgUrl, OPMAS_TEST_LOG_DIR: pgLogs });
  checkSecrets('server on PostgreSQL', pgLogs);
} finally {
  await pg?.stop();
}
console.log('\nall tests passed');
