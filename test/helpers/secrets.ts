// Every secret a test creates (passwords, tokens) is recorded here; at the end of the run the
// global teardown greps every AMS log of the run for them (test/setup/global-db.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';

/** The run's log dir (server project); projects without one log to a temp dir that is not checked. */
export function testLogDir(): string {
  const dir = inject('logDir') ?? path.join(os.tmpdir(), 'opmas-unchecked-logs');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function recordSecret(...secrets: Array<string | undefined>): void {
  const lines = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8);
  if (lines.length > 0) fs.appendFileSync(path.join(testLogDir(), 'secrets.txt'), `${lines.join('\n')}\n`);
}

export function logFile(name: string): string {
  return path.join(testLogDir(), `${name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
}
