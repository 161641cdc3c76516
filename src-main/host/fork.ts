// The process abstraction host mode forks the AMS through: Electron's utilityProcess in the
// app, Node's child_process.fork in tests and the Node stand-in. Both deliver the child's
// ready message as a 'message' and take { event: 'shutdown' } as a message.
import { fork as nodeFork } from 'node:child_process';
import type { utilityProcess as electronUtilityProcess } from 'electron';

export interface ForkOptions {
  /** The child's whole environment (the launcher adds the host secret here, never to args). */
  env: Record<string, string>;
  /** Node flags, e.g. a TypeScript loader when running from source (ignored by utilityProcess). */
  execArgv?: string[];
  /** A name for the process in task managers. */
  serviceName?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export interface AmsProcess {
  readonly pid: number | undefined;
  /** Sends a structured message to the child (process.send / parentPort). */
  send(message: unknown): void;
  /** Asks the OS to stop the child (SIGTERM on POSIX). */
  terminate(): void;
  /** Kills the child at once (SIGKILL on POSIX). */
  forceKill(): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Fires once when the child has exited. */
  onExit(listener: (exit: ExitInfo) => void): void;
  /** The child's stderr, line by line (the AMS logs JSON lines there). */
  onStderrLine(listener: (line: string) => void): void;
}

export type ForkProcess = (modulePath: string, args: string[], options: ForkOptions) => AmsProcess;

/** child_process.fork: used by the tests and by anything that runs the launcher outside Electron. */
export const forkWithNode: ForkProcess = (modulePath, args, options) => {
  const child = nodeFork(modulePath, args, {
    env: options.env,
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let exited = false;
  const exitListeners: Array<(e: ExitInfo) => void> = [];
  const stderr = lineFanout(child.stderr);
  child.once('exit', (code, signal) => {
    exited = true;
    for (const l of exitListeners) l({ code, signal });
  });
  // A failed spawn emits 'error' and then 'exit'; keep it from becoming an uncaught exception.
  child.on('error', () => undefined);
  return {
    get pid() {
      return child.pid;
    },
    send(message) {
      if (child.connected) child.send(message as object, (err) => void err);
    },
    terminate() {
      if (!exited) child.kill('SIGTERM');
    },
    forceKill() {
      if (!exited) child.kill('SIGKILL');
    },
    onMessage(listener) {
      child.on('message', (m) => listener(m));
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    onStderrLine: stderr,
  };
};

/**
 * Electron's utilityProcess.fork, passed in by the app (this module does not import electron
 * at runtime). utilityProcess.kill() is SIGTERM; a forced kill goes through process.kill.
 */
export function forkWithUtilityProcess(utilityProcess: Pick<typeof electronUtilityProcess, 'fork'>, killPid: (pid: number, signal: string) => void = process.kill): ForkProcess {
  return (modulePath, args, options) => {
    const child = utilityProcess.fork(modulePath, args, {
      env: options.env,
      serviceName: options.serviceName ?? 'OPMAS AMS',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let exited = false;
    const exitListeners: Array<(e: ExitInfo) => void> = [];
    const stderr = lineFanout(child.stderr);
    child.once('exit', (code) => {
      exited = true;
      for (const l of exitListeners) l({ code, signal: null });
    });
    return {
      get pid() {
        return child.pid;
      },
      send(message) {
        if (!exited) child.postMessage(message);
      },
      terminate() {
        if (!exited) child.kill();
      },
      forceKill() {
        if (!exited && child.pid) killPid(child.pid, 'SIGKILL');
      },
      onMessage(listener) {
        child.on('message', (m) => listener(m));
      },
      onExit(listener) {
        exitListeners.push(listener);
      },
      onStderrLine: stderr,
    };
  };
}

/** Reads a piped stream to the end (a full pipe would block the child) and fans its lines out. */
function lineFanout(stream: NodeJS.ReadableStream | null): (listener: (line: string) => void) => void {
  const listeners: Array<(line: string) => void> = [];
  if (stream) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        for (const l of listeners) l(line);
      }
      if (buffered.length > 64 * 1024) buffered = buffered.slice(-64 * 1024);
    });
  }
  return (listener) => void listeners.push(listener);
}
