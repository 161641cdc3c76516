// Runs the AMS as its own process, exactly as `npm run serve` does, and waits for its ready line.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import readline from 'node:readline';
import { logFile } from './secrets.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface SpawnedAms {
  child: ChildProcess;
  url: string;
  /** Every stdout line the process printed. */
  stdout: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnAms(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; ready: Promise<SpawnedAms> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'server/main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  let stderr = '';
  // Everything the AMS writes on stderr joins the run's logs that are checked for secrets.
  const log = fs.createWriteStream(logFile('spawned'));
  child.stderr!.on('data', (d) => {
    stderr += d;
    log.write(d);
  });
  child.once('exit', () => log.end());
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<SpawnedAms>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout.push(line);
      if (stdout.length === 1) {
        try {
          const msg = JSON.parse(line) as { event: string; url: string };
          if (msg.event === 'ready') resolve({ child, url: msg.url, stdout, stderr: () => stderr, exited });
        } catch {
          reject(new Error(`first stdout line is not the ready line: ${line}`));
        }
      }
    });
    void exited.then(({ code }) => reject(new Error(`AMS exited with ${code} before ready: ${stderr.slice(-2000)}`)));
  });
  return { child, ready };
}
