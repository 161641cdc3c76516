// Host mode: runs `nats-server` as a child process on loopback with JetStream and operator/JWT
// auth, waits until it accepts clients, restarts it with backoff when it dies, reloads its
// configuration on SIGHUP, and stops it gracefully. Its state is what /health reports.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { Logger } from 'pino';
import { NatsServerFailed, NatsServerNotFound } from './errors.js';
import { natsDir, writeSecretFile } from './key-store.js';
import { backoffDelay } from '../domain/backoff.js';

export type NatsServerState = 'stopped' | 'starting' | 'running' | 'restarting' | 'down';

/** The trust part of the configuration, produced fresh for every start and reload. */
export interface NatsAuthConfig {
  operatorJwt: string;
  systemAccount: string;
  /** Account public key -> account JWT, served by the MEMORY resolver. */
  preload: Record<string, string>;
}

export interface RestartPolicy {
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** Once the server has run this long, the next failure starts the backoff again from the first delay. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 250, factor: 2, maxDelayMs: 30_000, stableAfterMs: 30_000 };

/** Delay before restart attempt `attempt` (1 = first restart after a failure). */
export function nextRestartDelay(attempt: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number {
  return backoffDelay({ initial: policy.initialDelayMs, factor: policy.factor, max: policy.maxDelayMs }, attempt);
}

/**
 * Account resolver: host mode uses MEMORY (accounts preloaded, updated by reload). `full` keeps
 * account JWTs in a directory and accepts claim updates over the system account, as a production
 * cluster does; the tests use it to stand in for an external broker.
 */
export type NatsResolver = 'memory' | { type: 'full'; dir: string };

export interface NatsServerOptions {
  dataDir: string;
  logger: Logger;
  auth: () => Promise<NatsAuthConfig>;
  /** Explicit binary; wins over OPMAS_NATS_SERVER_BIN, the resources dir and PATH. */
  binary?: string;
  env?: NodeJS.ProcessEnv;
  /** The packaged app's resources dir; its `bin/nats-server` is used when present. */
  resourcesDir?: string;
  host?: string;
  /** Port to listen on; default: the one used last time when it is free, else any free port. */
  port?: number;
  restartPolicy?: Partial<RestartPolicy>;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
  resolver?: NatsResolver;
  /** Server TLS (host mode listens on loopback without it; the tests use it for an external stand-in). */
  tls?: { certFile: string; keyFile: string };
}

export interface NatsServerInfo {
  state: NatsServerState;
  url?: string;
  pid?: number;
  /** Restart attempts (after an unexpected exit or a failed start) since the handle was made. */
  restarts: number;
  binary?: string;
  version?: string;
  lastError?: string;
}

export interface NatsServerHandle {
  /** Starts the server and waits until it accepts clients; on failure keeps retrying in the background and rejects with the first error. */
  start(): Promise<void>;
  /** Rewrites the configuration (fresh auth) and applies it with a reload; resolves once the server confirms it. */
  reload(): Promise<void>;
  stop(): Promise<void>;
  state(): NatsServerState;
  info(): NatsServerInfo;
  /** `nats://host:port`, known after the first start attempt chose a port. */
  url(): string | undefined;
  onStateChange(listener: (state: NatsServerState, info: NatsServerInfo) => void): () => void;
}

const RELOADED = /Reloaded server configuration/;
const RELOAD_FAILED = /Failed to reload server configuration: (.*)$/;
const ADDRESS_IN_USE = /address already in use/i;

/** Where nats-server is looked for, in order. */
export function natsServerCandidates(opts: Pick<NatsServerOptions, 'binary' | 'env' | 'resourcesDir'>): string[] {
  const env = opts.env ?? process.env;
  const exe = process.platform === 'win32' ? 'nats-server.exe' : 'nats-server';
  const out: string[] = [];
  if (opts.binary) out.push(opts.binary);
  if (env.OPMAS_NATS_SERVER_BIN) out.push(env.OPMAS_NATS_SERVER_BIN);
  if (opts.resourcesDir) out.push(path.join(opts.resourcesDir, 'bin', exe));
  // Debian installs it to /usr/sbin, which is not on an ordinary user's PATH.
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...(process.platform === 'win32' ? [] : ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin'])];
  for (const dir of dirs) out.push(path.join(dir, exe));
  return [...new Set(out)];
}

/** The first executable nats-server among the candidates; an explicit choice that is missing is an error, not a fallback. */
export function findNatsServer(opts: Pick<NatsServerOptions, 'binary' | 'env' | 'resourcesDir'>): string {
  const env = opts.env ?? process.env;
  const explicit = opts.binary ?? env.OPMAS_NATS_SERVER_BIN;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new NatsServerNotFound([explicit]);
  }
  const candidates = natsServerCandidates(opts);
  const found = candidates.find(isExecutable);
  if (!found) throw new NatsServerNotFound(candidates.map((c) => path.dirname(c)).filter((d, i, a) => a.indexOf(d) === i));
  return found;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function natsServerVersion(binary: string): string | undefined {
  const res = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return /v?(\d+\.\d+\.\d+)/.exec(`${res.stdout ?? ''}${res.stderr ?? ''}`)?.[1];
}

/** The configuration file's text. Pure; strings are JSON-quoted, which the NATS config parser reads back unchanged. */
export function renderNatsConfig(c: {
  host: string;
  port: number;
  storeDir: string;
  auth: NatsAuthConfig;
  serverName?: string;
  resolver?: NatsResolver;
  tls?: { certFile: string; keyFile: string };
}): string {
  const q = (s: string) => JSON.stringify(s);
  const resolver = c.resolver && c.resolver !== 'memory' ? `resolver: { type: full, dir: ${q(c.resolver.dir)}, allow_delete: false }` : 'resolver: MEMORY';
  const preload = Object.entries(c.auth.preload)
    .map(([account, jwt]) => `  ${q(account)}: ${q(jwt)}`)
    .join('\n');
  return [
    '# Written by the OPMAS AMS at every start and reload; edits here are overwritten.',
    `server_name: ${q(c.serverName ?? 'opmas-ams')}`,
    `listen: ${q(`${c.host}:${c.port}`)}`,
    ...(c.tls ? [`tls { cert_file: ${q(c.tls.certFile)}, key_file: ${q(c.tls.keyFile)} }`] : []),
    // nats-server keeps its streams in <store_dir>/jetstream.
    `jetstream { store_dir: ${q(c.storeDir)} }`,
    `operator: ${q(c.auth.operatorJwt)}`,
    `system_account: ${q(c.auth.systemAccount)}`,
    resolver,
    'resolver_preload: {',
    preload,
    '}',
    '',
  ].join('\n');
}

export function createNatsServer(opts: NatsServerOptions): NatsServerHandle {
  const { logger } = opts;
  const policy: RestartPolicy = { ...DEFAULT_RESTART_POLICY, ...opts.restartPolicy };
  const host = opts.host ?? '127.0.0.1';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 5000;
  const dir = natsDir(opts.dataDir);
  const confPath = path.join(dir, 'nats-server.conf');
  const pidPath = path.join(dir, 'nats-server.pid');
  const portPath = path.join(dir, 'port');

  let state: NatsServerState = 'stopped';
  let child: ChildProcess | undefined;
  let port: number | undefined = opts.port;
  let binary: string | undefined;
  let version: string | undefined;
  let lastError: string | undefined;
  let restarts = 0;
  let attempt = 0;
  let bindFailures = 0;
  let startedAt = 0;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  const listeners = new Set<(s: NatsServerState, i: NatsServerInfo) => void>();
  const forward = createLogForwarder(logger);
  const lineWaiters = new Set<(line: string) => void>();

  const info = (): NatsServerInfo => ({
    state,
    url: port === undefined ? undefined : `nats://${host}:${port}`,
    pid: child?.pid,
    restarts,
    binary,
    version,
    lastError,
  });
  const setState = (next: NatsServerState) => {
    if (next === state) return;
    state = next;
    for (const l of listeners) {
      try {
        l(next, info());
      } catch (err) {
        logger.warn({ err }, 'nats-server state listener failed');
      }
    }
  };

  async function writeConfig(): Promise<void> {
    const auth = await opts.auth();
    writeSecretFile(confPath, renderNatsConfig({ host, port: port!, storeDir: dir, auth, resolver: opts.resolver, tls: opts.tls }));
  }

  /** One attempt: spawn, wait for readiness. Rejects when the process dies or is not ready in time. */
  async function launch(): Promise<void> {
    binary = findNatsServer(opts);
    version ??= natsServerVersion(binary);
    await killOrphan(pidPath, confPath, logger);
    port = await choosePort(host, port, portPath, bindFailures >= 3);
    await writeConfig();
    const proc = spawn(binary, ['-c', confPath], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...(opts.env ?? process.env) } });
    child = proc;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }>((resolve) => {
      const tail: string[] = [];
      readline.createInterface({ input: proc.stderr! }).on('line', (raw) => {
        const line = redactSecrets(raw);
        tail.push(line);
        if (tail.length > 20) tail.shift();
        forward(line);
        for (const w of lineWaiters) w(line);
      });
      // 'close' comes after the last stderr line; a failed spawn emits 'error' and maybe no 'exit'.
      proc.once('close', (code, signal) => resolve({ code, signal, lines: tail }));
      proc.once('error', (err) => {
        tail.push(`cannot run ${binary}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
        resolve({ code: null, signal: null, lines: tail });
      });
    });
    if (proc.pid) fs.writeFileSync(pidPath, `${proc.pid}\n`);

    const ready = waitForInfoLine(host, port, readyTimeoutMs);
    let first: 'ready' | Awaited<typeof exited>;
    try {
      first = await Promise.race([ready.then(() => 'ready' as const), exited.then((e) => e)]);
    } catch (err) {
      // Not ready in time: do not leave a half-started server behind.
      proc.kill('SIGKILL');
      await exited;
      throw err;
    }
    if (first !== 'ready') {
      ready.cancel();
      const why = first.lines.filter((l) => /\[(FTL|ERR)\]/.test(l)).pop() ?? first.lines.pop() ?? 'no output';
      if (ADDRESS_IN_USE.test(why)) bindFailures += 1;
      throw new NatsServerFailed(`nats-server exited (code ${first.code ?? first.signal}) before it was ready: ${why}`);
    }
    bindFailures = 0;
    startedAt = Date.now();
    lastError = undefined;
    setState('running');
    void exited.then((e) => onExit(proc, e));
  }

  function onExit(proc: ChildProcess, e: { code: number | null; signal: NodeJS.Signals | null }): void {
    if (child === proc) child = undefined;
    if (stopping) return;
    const ranMs = Date.now() - startedAt;
    lastError = `nats-server exited unexpectedly (${e.signal ?? `code ${e.code}`})`;
    logger.warn({ code: e.code, signal: e.signal, ranMs }, 'nats-server exited unexpectedly; restarting');
    attempt = ranMs >= policy.stableAfterMs ? 1 : attempt + 1;
    scheduleRestart('restarting');
  }

  /** `restarting` right after a running server died; `down` once an attempt to start it has failed. */
  function scheduleRestart(next: 'restarting' | 'down'): void {
    if (stopping) return;
    const delay = nextRestartDelay(Math.max(attempt, 1), policy);
    setState(next);
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      if (stopping) return;
      restarts += 1;
      current = launch().catch((err) => {
        lastError = (err as Error).message;
        logger.warn({ code: (err as { code?: string }).code, reason: lastError, attempt }, 'nats-server restart failed');
        attempt += 1;
        scheduleRestart('down');
      });
    }, delay);
  }

  return {
    async start() {
      if (state !== 'stopped') return current;
      stopping = false;
      attempt = 0;
      setState('starting');
      current = launch();
      try {
        await current;
      } catch (err) {
        lastError = (err as Error).message;
        attempt = 1;
        scheduleRestart('down');
        throw err;
      }
    },

    async reload() {
      const proc = child;
      if (!proc || state !== 'running') {
        // The next start writes the configuration anyway.
        throw new NatsServerFailed(`nats-server is ${state}; the configuration is applied when it starts`);
      }
      await writeConfig();
      const confirmed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new NatsServerFailed('nats-server did not confirm the configuration reload')), 10_000);
        const onLine = (line: string) => {
          if (RELOADED.test(line)) done();
          const failed = RELOAD_FAILED.exec(line);
          if (failed) done(new NatsServerFailed(`nats-server rejected the configuration: ${failed[1]}`));
        };
        const done = (err?: Error) => {
          clearTimeout(timer);
          lineWaiters.delete(onLine);
          if (err) reject(err);
          else resolve();
        };
        lineWaiters.add(onLine);
      });
      signalReload(binary!, proc);
      await confirmed;
    },

    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      await current?.catch(() => undefined);
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), stopTimeoutMs);
        await gone;
        clearTimeout(timer);
      }
      child = undefined;
      fs.rmSync(pidPath, { force: true });
      setState('stopped');
    },

    state: () => state,
    info,
    url: () => (port === undefined ? undefined : `nats://${host}:${port}`),
    onStateChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** SIGHUP on Unix; Windows has no signals, so nats-server's own `--signal reload=<pid>` (untested here). */
function signalReload(binary: string, proc: ChildProcess): void {
  if (process.platform === 'win32') spawnSync(binary, ['--signal', `reload=${proc.pid}`], { timeout: 5000 });
  else proc.kill('SIGHUP');
}

/**
 * A previous AMS that died without stopping its nats-server leaves it running on our port and
 * JetStream dir. The data dir is locked to one AMS, so a live nats-server started with our
 * config file is such an orphan. Only checked where /proc shows the command line.
 */
async function killOrphan(pidPath: string, confPath: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidPath, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  const ours = () => {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmdline.some((a) => a.endsWith('nats-server')) && cmdline.includes(confPath);
    } catch {
      return false; // not running, or no /proc: nothing to do
    }
  };
  if (!ours()) return;
  logger.warn({ pid }, 'stopping a nats-server left running by a previous AMS');
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  // Gone before its port is taken again: agents know the broker by that port.
  for (let i = 0; i < 100 && ours(); i++) await new Promise((r) => setTimeout(r, 50));
}

/**
 * The port to listen on: the given one, else last time's (waited for a while when it is still
 * held: the agents of this data dir know the broker by it, and a previous nats-server may be
 * releasing it), else a free one.
 */
async function choosePort(host: string, given: number | undefined, portPath: string, forceNew: boolean): Promise<number> {
  if (given !== undefined && given !== 0 && !forceNew) return given;
  let previous: number | undefined;
  try {
    previous = Number(fs.readFileSync(portPath, 'utf8').trim()) || undefined;
  } catch {
    previous = undefined;
  }
  let free = false;
  if (!forceNew && previous) {
    for (let i = 0; i < 50 && !(free = await isPortFree(host, previous)); i++) await new Promise((r) => setTimeout(r, 100));
  }
  const port = free && previous ? previous : await freePort(host);
  fs.writeFileSync(portPath, `${port}\n`);
  return port;
}

function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to the server receives its `INFO` greeting (clients are accepted). */
function waitForInfoLine(host: string, port: number, timeoutMs: number): Promise<void> & { cancel(): void } {
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = Date.now() + timeoutMs;
  const once = () =>
    new Promise<boolean>((resolve) => {
      const sock = net.connect(port, host);
      let buf = '';
      const finish = (ok: boolean) => {
        sock.destroy();
        resolve(ok);
      };
      sock.setTimeout(1000, () => finish(false));
      sock.on('data', (d) => {
        buf += d.toString('utf8');
        if (buf.startsWith('INFO ')) finish(true);
        else if (buf.length > 5) finish(false);
      });
      sock.on('error', () => finish(false));
      sock.on('close', () => finish(false));
    });
  const p = (async () => {
    while (!cancelled) {
      if (await once()) return;
      if (Date.now() > deadline) throw new NatsServerFailed(`nats-server did not accept clients within ${timeoutMs} ms`);
      await new Promise<void>((r) => (timer = setTimeout(r, 100)));
    }
  })() as Promise<void> & { cancel(): void };
  p.cancel = () => {
    cancelled = true;
    clearTimeout(timer);
  };
  p.catch(() => undefined);
  return p;
}

const JWT_LIKE = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
const SEED_LIKE = /\bS[A-Z][A-Z2-7]{50,}\b/g;

/** nats-server does not print secrets at its default level; this keeps it so if that ever changes. */
export function redactSecrets(line: string): string {
  return line.replace(JWT_LIKE, '[jwt]').replace(SEED_LIKE, '[seed]');
}

/**
 * nats-server's stderr into the AMS log: fatal lines as errors, errors and warnings as warnings
 * (at most 30 a minute: an agent looping on a forbidden subject must not flood the log), the rest
 * at debug.
 */
function createLogForwarder(logger: Logger, perMinute = 30): (line: string) => void {
  let windowStart = 0;
  let inWindow = 0;
  let suppressed = 0;
  return (line) => {
    const level = /\[(FTL|ERR|WRN|INF|DBG|TRC)\]/.exec(line)?.[1];
    const msg = line.replace(/^\[\d+\]\s+\S+\s+\S+\s+/, '');
    if (level === 'FTL') return logger.error({ source: 'nats-server' }, msg);
    if (level !== 'ERR' && level !== 'WRN') return logger.debug({ source: 'nats-server' }, msg);
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      if (suppressed > 0) logger.warn({ source: 'nats-server', suppressed }, 'nats-server warnings were suppressed in the last minute');
      windowStart = now;
      inWindow = 0;
      suppressed = 0;
    }
    if (inWindow >= perMinute) {
      suppressed += 1;
      return;
    }
    inWindow += 1;
    logger.warn({ source: 'nats-server' }, msg);
  };
}
