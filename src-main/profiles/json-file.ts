// Small JSON files under the app's userData dir, written atomically: a temp file in the same
// folder, fsync, rename over the old one, so a crash leaves the old or the new file, never half.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function writeJsonAtomic(file: string, value: unknown): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (process.platform !== 'win32') {
    // Make the rename itself durable.
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }
}

export type ReadJsonResult<T> = { kind: 'missing' } | { kind: 'ok'; value: T } | { kind: 'corrupt'; movedTo: string; reason: string };

/**
 * Reads a JSON file. A file that does not parse or fails `check` is moved aside
 * (`<name>.corrupt-<time>`) so the app can start fresh without losing it.
 */
export function readJson<T>(file: string, check: (value: unknown) => value is T): ReadJsonResult<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  let reason: string;
  try {
    const value: unknown = JSON.parse(text);
    if (check(value)) return { kind: 'ok', value };
    reason = 'unexpected content';
  } catch (err) {
    reason = (err as Error).message;
  }
  const movedTo = `${file}.corrupt-${Date.now()}`;
  fs.renameSync(file, movedTo);
  return { kind: 'corrupt', movedTo, reason };
}
