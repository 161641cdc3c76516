// One process of the cluster harness (an API replica, a supervisor): spawned as the deploy files
// run it (`node out/main/server.js` with flags and OPMAS_* variables), ready when it prints its
// ready line, with handles to SIGKILL it, stop it gracefully and start it again with the same
// flags. Its stderr goes to a log file of the run (checked for secrets by test/run-all.mjs).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { REPO_ROOT } from '../helpers/spawn-ams.js';
import { logFile } from '../helpers/secrets.js';

/** The entry the systemd units and the image run (`npm run build` makes it). */
export const SERVER_ENTRY = path.join(REPO_ROOT, 'out/main/server.js');

export interface ReadyLine {
  event: 'ready';
  pid: number;
  role?: string;
  url?: string;
  host_id?: string;
  epoch?: number;
}

export interface ClusterProcess {
  readonly name: string;
  /** The running child, if any. */
  child(): ChildProcess | undefined;
  pid(): number | undefined;
  /** The ready line of the current (or last) run. */
  ready(): ReadyLine | undefined;
  running(): boolean;
  /** Every log file this process wrote (one per run). */
  logs: string[];
  start(extraEnv?: NodeJS.ProcessEnv): Promise<ReadyLine>;
  /** SIGKILL; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (a graceful stop); SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const exitOf = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

export function clusterProcess(name: string, args: string[], env: NodeJS.ProcessEnv, opts: { readyTimeoutMs?: number } = {}): ClusterProcess {
  let child: ChildProcess | undefined;
  let ready: ReadyLine | undefined;
  const logs: string[] = [];
  const alive = () => Boolean(child && child.exitCode === null && child.signalCode === null);

  return {
    name,
    logs,
    child: () => child,
    pid: () => (alive() ? child!.pid : undefined),
    ready: () => ready,
    running: alive,
    start(extraEnv = {}) {
      if (alive()) throw new Error(`${name} is already running (pid ${child!.pid})`);
      const log = logFile(`cluster-${name}`);
      logs.push(log);
      const fd = fs.openSync(log, 'a');
      const proc = spawn(process.execPath, [SERVER_ENTRY, ...args], { cwd: REPO_ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', fd] });
      fs.closeSync(fd);
      child = proc;
      ready = undefined;
      const tail = () => {
        try {
          return fs.readFileSync(log, 'utf8').slice(-3000);
        } catch {
          return '';
        }
      };
      return new Promise<ReadyLine>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} printed no ready line within ${(opts.readyTimeoutMs ?? 90_000) / 1000} s:\n${tail()}`)), opts.readyTimeoutMs ?? 90_000);
        readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
          if (ready) return;
          try {
            const msg = JSON.parse(line) as ReadyLine;
            if (msg.event !== 'ready') return;
            ready = msg;
            clearTimeout(timer);
            resolve(msg);
          } catch {
            clearTimeout(timer);
            reject(new Error(`${name}: the first stdout line is not the ready line: ${line}`));
          }
        });
        void exitOf(proc).then(({ code, signal }) => {
          clearTimeout(timer);
          if (!ready) reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${tail()}`));
        });
      });
    },
    async kill9() {
      const c = child;
      if (!c || !alive()) return;
      c.kill('SIGKILL');
      await exitOf(c);
    },
    async stop(timeoutMs = 20_000) {
      const c = child;
      if (!c || !alive()) return { code: c?.exitCode ?? null, signal: c?.signalCode ?? null };
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
      const result = await exitOf(c);
      clearTimeout(timer);
      return result;
    },
  };
}
