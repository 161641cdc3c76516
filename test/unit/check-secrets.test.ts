// The secrets check itself must catch a leak, or its green result means nothing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without types
import { checkLogsForSecrets } from '../support/check-secrets.mjs';

describe('checkLogsForSecrets', () => {
  it('finds a recorded secret in a log and passes clean logs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-check-'));
    fs.writeFileSync(path.join(dir, 'secrets.txt'), 'ort_supersecretvalue\n');
    fs.writeFileSync(path.join(dir, 'a.log'), '{"msg":"login ok"}\n');
    expect(checkLogsForSecrets(dir)).toEqual([]);
    fs.writeFileSync(path.join(dir, 'b.log'), '{"msg":"token ort_supersecretvalue"}\n');
    expect(checkLogsForSecrets(dir)).toEqual([expect.stringContaining('b.log')]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to pass when nothing was recorded', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-check-'));
    fs.writeFileSync(path.join(dir, 'a.log'), 'x');
    expect(checkLogsForSecrets(dir)).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
