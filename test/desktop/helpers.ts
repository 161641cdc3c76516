// Shared helpers of the desktop tests: temp dirs, waiting for launcher events, reading /proc.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostLauncher, LauncherEvent } from '../../src-main/host/host-launcher.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const SERVER_ENTRY = path.join(REPO_ROOT, 'server/main.ts');
export const TSX = ['--import', 'tsx'];

const dirs: string[] = [];
export function tempDir(prefix = 'opmas-desktop-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** This process's environment with TMPDIR in a test temp dir: an AMS killed with SIGKILL leaves its temp files there, not in /tmp. */
export function amsEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...process.env, TMPDIR: tempDir('opmas-tmp-'), ...extra };
}

/** Records every launcher event and resolves when one matching `pred` arrives (after `from`). */
export function recordEvents(launcher: HostLauncher) {
  const events: LauncherEvent[] = [];
  const waiters: Array<{ pred: (e: LauncherEvent) => boolean; resolve: (e: LauncherEvent) => void; from: number }> = [];
  launcher.onEvent((e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (events.length - 1 >= w.from && w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    /** Waits for the next event (from now on) that matches. */
    next<T extends LauncherEvent['type']>(type: T, pred: (e: Extract<LauncherEvent, { type: T }>) => boolean = () => true): Promise<Extract<LauncherEvent, { type: T }>> {
      return new Promise((resolve) =>
        waiters.push({ pred: (e) => e.type === type && pred(e as Extract<LauncherEvent, { type: T }>), resolve: resolve as (e: LauncherEvent) => void, from: events.length }),
      );
    },
  };
}

/** Whether any file under `dir` contains `needle` (bytes). */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const bytes = Buffer.from(needle);
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && fs.readFileSync(p).includes(bytes)) hits.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hits;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
