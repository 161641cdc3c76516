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

export interface SpawnedSupervisor {
  child: ChildProcess;
  /** Every stdout line so far (the ready line first). */
  stdout: string[];
  stderr: () => string;
  /** The ready line, parsed; rejects when the process exits first. */
  ready(): Promise<Record<string, unknown>>;
}

/**
 * `--role supervisor` for `hostId` in its own process, on the NATS at `natsUrl` with the
 * supervisor user `creds` (written 0600 into `dataDir`), as a second host runs it.
 */
export function spawnSupervisor(opts: { hostId: string; dataDir: string; natsUrl: string; creds: string; args?: string[]; env?: NodeJS.ProcessEnv }): SpawnedSupervisor {
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const credsFile = path.join(opts.dataDir, 'supervisor.creds');
  fs.writeFileSync(credsFile, opts.creds, { mode: 0o600 });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'server/main.ts'), '--role', 'supervisor', '--host-id', opts.hostId, '--data-dir', opts.dataDir, ...(opts.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, OPMAS_NATS_URL: opts.natsUrl, OPMAS_NATS_CREDS: credsFile, OPMAS_AMS_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = fs.createWriteStream(logFile('spawned'));
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
    log.write(d);
  });
  child.once('exit', () => log.end());
  const stdout: string[] = [];
  const lines: Array<() => void> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => {
    stdout.push(l);
    for (const wake of lines.splice(0)) wake();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    for (const wake of lines.splice(0)) wake();
  });
  const ready = async (): Promise<Record<string, unknown>> => {
    while (stdout.length === 0) {
      if (exited) throw new Error(`the supervisor exited with ${child.exitCode ?? child.signalCode}: ${stderr.slice(-2000)}`);
      await new Promise<void>((r) => lines.push(r));
    }
    return JSON.parse(stdout[0]) as Record<string, unknown>;
  };
  return { child, stdout, stderr: () => stderr, ready };
}
