// Host mode: runs the bundled AMS as its own process and waits for its ready line.
// Plain Node (child_process.fork), so it is testable without Electron; the desktop issue
// swaps in Electron's utilityProcess behind the same interface.
import { fork } from 'node:child_process';

export interface HostedAms {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface HostedAmsOptions {
  serverEntry: string;
  dataDir: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Node flags for the child, e.g. a TypeScript loader when running from source. */
  execArgv?: string[];
}

export function startHostedAms(opts: HostedAmsOptions): Promise<HostedAms> {
  const child = fork(opts.serverEntry, ['--port', String(opts.port ?? 0), '--data-dir', opts.dataDir], {
    env: { ...process.env, ...opts.env },
    execArgv: opts.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the AMS exited with code ${code} before it was ready`)));
    child.on('message', (msg: { event?: string; url?: string }) => {
      if (msg?.event !== 'ready' || !msg.url) return;
      resolve({
        url: msg.url,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
