// Host mode: runs the bundled AMS as its own process, waits for its ready message, restarts
// it with backoff when it dies, and stops it gracefully. The process comes from an injected
// ForkProcess (utilityProcess in the app, child_process.fork in tests); the per-launch
// secret travels in the child's environment only, never in its arguments or on disk.
import { randomBytes } from 'node:crypto';
import type { HostState } from '../../src-preload/console-api.js';
import type { AmsProcess, ExitInfo, ForkProcess } from './fork.js';
import { DEFAULT_RESTART_POLICY, nextRestartDelay, type RestartPolicy } from './restart-policy.js';

export const HOST_SECRET_ENV = 'OPMAS_HOST_SECRET';

/** A fresh per-launch secret for the host-session call (256 bits, URL-safe). */
export function generateHostSecret(): string {
  return randomBytes(32).toString('base64url');
}

export type LauncherEvent =
  | { type: 'spawn'; at: number; attempt: number; pid: number | null; port: number }
  | { type: 'ready'; at: number; attempt: number; pid: number | null; url: string }
  | { type: 'exit'; at: number; attempt: number; pid: number | null; code: number | null; signal: string | null; expected: boolean }
  | { type: 'restart-scheduled'; at: number; attempt: number; delayMs: number }
  | { type: 'stable'; at: number }
  | { type: 'failed'; at: number; reason: string }
  | { type: 'stopped'; at: number };

export interface HostLauncherOptions {
  forkProcess: ForkProcess;
  /** The AMS entry: out/main/server.js in the app, server/main.ts with a TypeScript loader in tests. */
  serverEntry: string;
  dataDir: string;
  secret: string;
  /** Environment for the AMS besides the secret (default: this process's environment). */
  env?: Record<string, string | undefined>;
  execArgv?: string[];
  /** Port for the first start (default 0: any free port); restarts reuse the port the AMS got. */
  port?: number;
  /** More AMS flags, e.g. ['--db-url', url]. */
  extraArgs?: string[];
  policy?: Partial<RestartPolicy>;
  now?: () => number;
  /** Receives the AMS's stderr lines (its JSON logs). */
  onLog?: (line: string) => void;
}

export interface HostLauncher {
  /** Starts the AMS (if not running) and resolves with its URL once it is ready. Rejects if it fails or is stopped first. */
  start(): Promise<string>;
  /** Stops the AMS gracefully (shutdown message, then a kill after the policy's timeout); no restart follows. */
  stop(): Promise<void>;
  state(): HostState;
  onState(listener: (state: HostState) => void): () => void;
  onEvent(listener: (event: LauncherEvent) => void): () => void;
}

interface Waiter {
  resolve(url: string): void;
  reject(err: Error): void;
}

export function createHostLauncher(opts: HostLauncherOptions): HostLauncher {
  const policy: RestartPolicy = { ...DEFAULT_RESTART_POLICY, ...opts.policy };
  const now = opts.now ?? Date.now;
  const stateListeners = new Set<(s: HostState) => void>();
  const eventListeners = new Set<(e: LauncherEvent) => void>();

  let state: HostState = { status: 'stopped', url: null, pid: null, attempt: 0, nextRestartAt: null, lastError: null };
  let child: AmsProcess | null = null;
  let childExited: Promise<void> = Promise.resolve();
  let readyPort: number | null = null;
  let restartTimer: NodeJS.Timeout | undefined;
  let stableTimer: NodeJS.Timeout | undefined;
  let readyTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | null = null;
  let waiters: Waiter[] = [];
  // Bumped by stop(): anything scheduled by an older run is ignored.
  let generation = 0;

  const emit = (event: LauncherEvent) => {
    for (const l of eventListeners) l(event);
  };
  const setState = (patch: Partial<HostState>) => {
    state = { ...state, ...patch };
    const snapshot = { ...state };
    for (const l of stateListeners) l(snapshot);
  };
  const settleWaiters = (outcome: { url: string } | { error: Error }) => {
    const pending = waiters;
    waiters = [];
    for (const w of pending) {
      if ('url' in outcome) w.resolve(outcome.url);
      else w.reject(outcome.error);
    }
  };
  const clearTimers = () => {
    clearTimeout(restartTimer);
    clearTimeout(stableTimer);
    clearTimeout(readyTimer);
  };

  function spawn(run: number): void {
    const port = readyPort ?? opts.port ?? 0;
    const args = ['--port', String(port), '--host', '127.0.0.1', '--data-dir', opts.dataDir, ...(opts.extraArgs ?? [])];
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v;
    env[HOST_SECRET_ENV] = opts.secret;

    let proc: AmsProcess;
    try {
      proc = opts.forkProcess(opts.serverEntry, args, { env, execArgv: opts.execArgv, serviceName: 'OPMAS AMS' });
    } catch (err) {
      onChildGone(run, `could not start the AMS: ${(err as Error).message}`, false);
      return;
    }
    child = proc;
    let ready = false;
    let timedOut = false;
    let lastLog = '';
    childExited = new Promise<void>((resolve) => proc.onExit(() => resolve()));
    emit({ type: 'spawn', at: now(), attempt: state.attempt, pid: proc.pid ?? null, port });
    setState({ pid: proc.pid ?? null, url: null, nextRestartAt: null });

    proc.onStderrLine((line) => {
      lastLog = line;
      opts.onLog?.(line);
    });
    readyTimer = setTimeout(() => {
      if (ready || run !== generation) return;
      timedOut = true;
      proc.forceKill();
    }, policy.readyTimeoutMs);

    proc.onMessage((message) => {
      const msg = message as { event?: unknown; url?: unknown } | null;
      if (ready || run !== generation || msg?.event !== 'ready' || typeof msg.url !== 'string') return;
      ready = true;
      clearTimeout(readyTimer);
      readyPort = Number(new URL(msg.url).port) || readyPort;
      emit({ type: 'ready', at: now(), attempt: state.attempt, pid: proc.pid ?? null, url: msg.url });
      setState({ status: 'running', url: msg.url, pid: proc.pid ?? null, nextRestartAt: null });
      settleWaiters({ url: msg.url });
      stableTimer = setTimeout(() => {
        if (run !== generation || child !== proc) return;
        emit({ type: 'stable', at: now() });
        setState({ attempt: 0 });
      }, policy.stableAfterMs);
    });

    proc.onExit((exit) => {
      if (child === proc) child = null;
      const expected = stopping !== null || run !== generation;
      emit({ type: 'exit', at: now(), attempt: state.attempt, pid: proc.pid ?? null, code: exit.code, signal: exit.signal, expected });
      if (expected) return;
      const reason = timedOut ? `the AMS did not report ready within ${policy.readyTimeoutMs} ms` : describeExit(exit, lastLog, ready);
      onChildGone(run, reason, ready);
    });
  }

  function onChildGone(run: number, reason: string, wasReady: boolean): void {
    clearTimers();
    // A start that never became ready may have lost a reused port: let the next one pick any.
    if (!wasReady) readyPort = null;
    const attempt = state.attempt + 1;
    if (attempt > policy.maxAttempts) {
      setState({ status: 'failed', url: null, pid: null, nextRestartAt: null, lastError: reason, attempt: state.attempt });
      emit({ type: 'failed', at: now(), reason });
      settleWaiters({ error: new Error(`the bundled AMS failed ${attempt} time${attempt === 1 ? '' : 's'} in a row; last: ${reason}`) });
      return;
    }
    const delayMs = nextRestartDelay(attempt, policy);
    const at = now();
    setState({ status: 'restarting', url: null, pid: null, attempt, nextRestartAt: at + delayMs, lastError: reason });
    emit({ type: 'restart-scheduled', at, attempt, delayMs });
    restartTimer = setTimeout(() => {
      if (run === generation && stopping === null) spawn(run);
    }, delayMs);
  }

  const launcher: HostLauncher = {
    start() {
      if (stopping) return stopping.then(() => launcher.start());
      if (state.status === 'running' && state.url) return Promise.resolve(state.url);
      const promise = new Promise<string>((resolve, reject) => waiters.push({ resolve, reject }));
      if (state.status === 'stopped' || state.status === 'failed') {
        generation += 1;
        setState({ status: 'starting', attempt: 0, lastError: null, nextRestartAt: null });
        spawn(generation);
      }
      return promise;
    },

    stop() {
      if (stopping) return stopping;
      generation += 1;
      clearTimers();
      const proc = child;
      stopping = (async () => {
        if (proc) {
          try {
            proc.send({ event: 'shutdown' });
          } catch {
            proc.terminate();
          }
          const kill = setTimeout(() => proc.forceKill(), policy.stopTimeoutMs);
          await childExited;
          clearTimeout(kill);
        }
        child = null;
        readyPort = null;
        setState({ status: 'stopped', url: null, pid: null, nextRestartAt: null, attempt: 0 });
        emit({ type: 'stopped', at: now() });
        settleWaiters({ error: new Error('the bundled AMS was stopped before it was ready') });
      })().finally(() => {
        stopping = null;
      });
      return stopping;
    },

    state: () => ({ ...state }),
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
  };
  return launcher;
}

/** A one-line reason for an exit: the code or signal and the AMS's last log message (it never logs the secret). */
function describeExit(exit: ExitInfo, lastLog: string, wasReady: boolean): string {
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  let detail = lastLog.trim();
  try {
    const parsed = JSON.parse(detail) as { msg?: unknown };
    if (typeof parsed.msg === 'string') detail = parsed.msg;
  } catch {
    // a plain text line, e.g. "opmas-ams: Data directory ... is in use"
  }
  const when = wasReady ? 'the AMS' : 'the AMS (before it was ready)';
  return `${when} ${how}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
}
