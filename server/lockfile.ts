// An exclusive lock file on the data dir: PGlite files are corrupted by two writers, so a
// second AMS on the same data dir must refuse to start.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class DataDirLocked extends Error {}

export interface DataDirLock {
  path: string;
  release(): void;
}

interface LockInfo {
  pid: number;
  hostname: string;
  started_at: string;
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const lockPath = path.join(dataDir, 'ams.lock');
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), started_at: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(info), { flag: 'wx', mode: 0o600 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          const current = readLock(lockPath);
          if (current?.pid === info.pid && current.started_at === info.started_at) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      return { path: lockPath, release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(lockPath);
      if (holder && isHeld(holder)) {
        throw new DataDirLocked(
          `Data directory ${dataDir} is in use by another AMS (pid ${holder.pid} on ${holder.hostname}, since ${holder.started_at}). ` +
            `Stop that AMS or choose another --data-dir; if no AMS is running, delete ${lockPath}.`,
        );
      }
      // Left behind by an AMS that is gone: take it over.
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw new DataDirLocked(`Could not take the lock ${lockPath}`);
}

function readLock(lockPath: string): LockInfo | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockInfo;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isHeld(holder: LockInfo): boolean {
  // Another host's lock (shared filesystem) cannot be checked, so it is honoured.
  if (holder.hostname !== os.hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
