// Once per server test run: a migrated template database that every test AMS copies.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrate.js';
import { adminQuery, testDbKind, testPgUrl, withDatabase } from '../helpers/test-db.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dbTemplate: string;
    logDir: string;
  }
}

export default async function setup(project: TestProject) {
  // test/run-all.mjs passes a log dir and checks it for secrets after the run.
  const logDir = process.env.OPMAS_TEST_LOG_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-logs-'));
  fs.mkdirSync(logDir, { recursive: true });
  project.provide('logDir', logDir);
  const db = await setupDatabase(project);
  return async () => {
    await db.teardown();
    if (!process.env.OPMAS_TEST_LOG_DIR) fs.rmSync(logDir, { recursive: true, force: true });
  };
}

async function setupDatabase(project: TestProject): Promise<{ teardown: () => Promise<void> }> {
  if (testDbKind() === 'pglite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-tpl-'));
    const db = await openDatabase({ dataDir: dir });
    await migrateLatest(db.knex);
    await db.close();
    project.provide('dbTemplate', dir);
    return { teardown: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `opmas_tpl_${process.pid}`;
  await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const db = await openDatabase({ dataDir: os.tmpdir(), dbUrl: withDatabase(testPgUrl(), name) });
  await migrateLatest(db.knex);
  await db.close();
  project.provide('dbTemplate', name);
  return {
    teardown: async () => {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
