// Every secret a test creates (passwords, tokens) is recorded here; at the end of the run the
// global teardown greps every AMS log of the run for them (test/setup/global-db.ts).
import fs from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';

export function testLogDir(): string {
  return inject('logDir');
}

export function recordSecret(...secrets: Array<string | undefined>): void {
  const lines = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8);
  if (lines.length > 0) fs.appendFileSync(path.join(testLogDir(), 'secrets.txt'), `${lines.join('\n')}\n`);
}

export function logFile(name: string): string {
  return path.join(testLogDir(), `${name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
}
