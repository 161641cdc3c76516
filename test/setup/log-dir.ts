// For projects without a database: the run's log dir (checked for secrets by test/run-all.mjs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

export default function setup(project: TestProject) {
  const logDir = process.env.OPMAS_TEST_LOG_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-logs-'));
  fs.mkdirSync(logDir, { recursive: true });
  project.provide('logDir', logDir);
  return () => {
    if (!process.env.OPMAS_TEST_LOG_DIR) fs.rmSync(logDir, { recursive: true, force: true });
  };
}
