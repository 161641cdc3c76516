// Agent processes as the OS sees them: spawn (own process group, output to capture files),
// adopt one a previous AMS left running, signal, and stop with escalation (the caller's
// graceful request, then SIGTERM after the grace period, then SIGKILL after the timeout).
// It knows nothing of statuses: the supervisor decides, this module executes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Logger } from 'pino';
import { identify, isSameProcess, type ProcessIdentity } from './proc-info.js';
import type { RunRecord, RunRecords } from './run-records.js';
import { createTailer, type LogSink, type OutputStream } from './log-capture.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: Date;
}

export interface ManagedProcess {
  agentId: string;
  pid: number;
  identity: ProcessIdentity;
  startedAt: Date;
  /** Found running at start rather than spawned by this AMS: no exit code can be had. */
  adopted: boolean;
  configVersion: number | null;
  /** Resolves once the process is gone and all its output read. */
  exited: Promise<ExitInfo>;
  exit?: ExitInfo;
  /** Set once the supervisor itself ends the process: its exit is not a crash. */
  expected: boolean;
}

export interface SpawnSpec {
  agentId: string;
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  configVersion: number | null;
}

export type Escalation = 'none' | 'SIGTERM' | 'SIGKILL';

export interface StopOutcome {
  exit: ExitInfo;
  escalation: Escalation;
  /** Whether the stop request was answered (the agent was asked before any signal). */
  asked: boolean;
}

export class SpawnFailed extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

interface Entry {
  proc: ManagedProcess;
  tailers: Array<ReturnType<typeof createTailer>>;
  watchers: fs.FSWatcher[];
  readScheduled: boolean;
  /** Forgotten by detach(): whatever happens to the process is no longer this AMS's business. */
  detached?: boolean;
  poll?: NodeJS.Timeout;
  resolveExit(info: ExitInfo): void;
}

export type ProcessManager = ReturnType<typeof createProcessManager>;

export function createProcessManager({ records, sink, logger, livenessPollMs = 250, fallbackReadMs = 1000 }: {
  records: RunRecords;
  sink: LogSink;
  logger: Logger;
  /** How often an adopted process (which cannot be waited for) is checked. */
  livenessPollMs?: number;
  /** Capture files are read on change notifications and also at this interval, in case one was missed. */
  fallbackReadMs?: number;
}) {
  const entries = new Map<string, Entry>();
  const fallback = setInterval(() => {
    for (const e of entries.values()) readOutput(e);
  }, fallbackReadMs);
  fallback.unref();

  function readOutput(e: Entry, final = false): void {
    for (const t of e.tailers) {
      try {
        t.read(final);
      } catch (err) {
        logger.debug({ agentId: e.proc.agentId, err: (err as Error).message }, 'reading agent output failed');
      }
    }
  }

  function attachOutput(e: Entry, offsets: { stdout: number; stderr: number }): void {
    const paths = records.paths(e.proc.agentId);
    for (const stream of ['stdout', 'stderr'] as OutputStream[]) {
      e.tailers.push(createTailer(paths[stream], stream, offsets[stream], (line) => sink.add(e.proc.agentId, stream, line)));
      try {
        const w = fs.watch(paths[stream], { persistent: false }, () => {
          if (e.readScheduled) return;
          e.readScheduled = true;
          setImmediate(() => {
            e.readScheduled = false;
            readOutput(e);
          });
        });
        w.on('error', () => undefined);
        e.watchers.push(w);
      } catch {
        // The fallback timer reads it.
      }
    }
  }

  function detachOutput(e: Entry): void {
    for (const w of e.watchers.splice(0)) w.close();
    clearInterval(e.poll);
  }

  function newEntry(proc: Omit<ManagedProcess, 'exited'>): Entry {
    let resolveExit!: (info: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((resolve) => (resolveExit = resolve));
    const e: Entry = { proc: { ...proc, exited }, tailers: [], watchers: [], readScheduled: false, resolveExit };
    return e;
  }

  /** The process is gone: read the rest of its output, drop its run record, tell the waiters. */
  function finish(e: Entry, info: ExitInfo): void {
    if (e.proc.exit || e.detached) return;
    e.proc.exit = info;
    readOutput(e, true);
    detachOutput(e);
    if (entries.get(e.proc.agentId) === e) {
      entries.delete(e.proc.agentId);
      records.remove(e.proc.agentId);
    }
    e.resolveExit(info);
  }

  function recordOf(e: Entry): RunRecord {
    const offsets = { stdout: 0, stderr: 0 };
    for (const t of e.tailers) offsets[t.stream] = t.offset;
    return { ...e.proc.identity, agent_id: e.proc.agentId, started_at: e.proc.startedAt.toISOString(), config_version: e.proc.configVersion, offsets };
  }

  /** Signals the process group (the agent and anything it started), checking first that the PID is still ours. */
  function signal(proc: ManagedProcess, sig: NodeJS.Signals): boolean {
    if (proc.exit) return false;
    if (proc.adopted && !isSameProcess(proc.identity)) return false;
    try {
      process.kill(-proc.pid, sig);
      return true;
    } catch {
      try {
        process.kill(proc.pid, sig);
        return true;
      } catch {
        return false;
      }
    }
  }

  function waitExit(proc: ManagedProcess, ms: number): Promise<boolean> {
    if (proc.exit) return Promise.resolve(true);
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void proc.exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  return {
    get: (agentId: string): ManagedProcess | undefined => entries.get(agentId)?.proc,
    list: (): ManagedProcess[] => [...entries.values()].map((e) => e.proc),

    /** Spawns the agent; resolves once the OS runs it, SpawnFailed when it could not be started. */
    spawn(spec: SpawnSpec): Promise<ManagedProcess> {
      if (entries.has(spec.agentId)) return Promise.reject(new SpawnFailed(`agent ${spec.agentId} already has a process`));
      records.ensureDir();
      const paths = records.paths(spec.agentId);
      const fds: number[] = [];
      try {
        for (const file of [paths.stdout, paths.stderr]) {
          fs.writeFileSync(file, '', { mode: 0o600 });
          fds.push(fs.openSync(file, 'a', 0o600));
        }
      } catch (err) {
        for (const fd of fds) fs.closeSync(fd);
        return Promise.reject(new SpawnFailed(`cannot create the output files: ${(err as Error).message}`));
      }
      const startedAt = new Date();
      const child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', fds[0], fds[1]], detached: true, windowsHide: true });
      for (const fd of fds) fs.closeSync(fd);
      return new Promise<ManagedProcess>((resolve, reject) => {
        child.on('error', (err) => {
          if (child.pid === undefined) reject(new SpawnFailed(`cannot start ${spec.file}: ${err.message}`, (err as NodeJS.ErrnoException).code));
          else logger.debug({ agentId: spec.agentId, err: err.message }, 'agent process error');
        });
        child.once('spawn', () => {
          const pid = child.pid!;
          // A process that exits at once may be gone before /proc is read: it will never be adopted anyway.
          const identity = identify(pid) ?? { pid, startTime: '', cmdline: [spec.file, ...spec.args].join('\0') };
          const e = newEntry({ agentId: spec.agentId, pid, identity, startedAt, adopted: false, configVersion: spec.configVersion, expected: false });
          entries.set(spec.agentId, e);
          attachOutput(e, { stdout: 0, stderr: 0 });
          if (identity.startTime) records.write(recordOf(e));
          child.once('exit', (code, sig) => finish(e, { code, signal: sig, at: new Date() }));
          if (child.exitCode !== null || child.signalCode !== null) finish(e, { code: child.exitCode, signal: child.signalCode, at: new Date() });
          resolve(e.proc);
        });
      });
    },

    /**
     * Takes over a process a previous AMS left running, if the run record still describes a
     * live process (same PID, start time and command line). Its exit is noticed by polling.
     */
    adopt(record: RunRecord): ManagedProcess | undefined {
      if (entries.has(record.agent_id) || !isSameProcess(record)) return undefined;
      const e = newEntry({
        agentId: record.agent_id,
        pid: record.pid,
        identity: { pid: record.pid, startTime: record.startTime, cmdline: record.cmdline },
        startedAt: new Date(record.started_at),
        adopted: true,
        configVersion: record.config_version,
        expected: false,
      });
      entries.set(record.agent_id, e);
      attachOutput(e, record.offsets ?? { stdout: 0, stderr: 0 });
      e.poll = setInterval(() => {
        if (!isSameProcess(e.proc.identity)) finish(e, { code: null, signal: null, at: new Date() });
      }, livenessPollMs);
      return e.proc;
    },

    /**
     * Ends a process a previous AMS left running that is not to be adopted, after checking it
     * is that very process: SIGTERM, then SIGKILL after `timeoutMs`. False when it was not ours.
     */
    async killOrphan(record: RunRecord, timeoutMs: number): Promise<boolean> {
      if (!isSameProcess(record)) return false;
      const signalOrphan = (sig: NodeJS.Signals) => {
        if (!isSameProcess(record)) return;
        try {
          process.kill(-record.pid, sig);
        } catch {
          try {
            process.kill(record.pid, sig);
          } catch {
            // already gone
          }
        }
      };
      signalOrphan('SIGTERM');
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && isSameProcess(record)) await new Promise((r) => setTimeout(r, 50));
      if (isSameProcess(record)) {
        signalOrphan('SIGKILL');
        for (let i = 0; i < 100 && isSameProcess(record); i++) await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },

    signal,

    /**
     * Stops a process: `ask` (the stop control request) first; SIGTERM at `graceMs` (at once when
     * the request was not answered); SIGKILL at `timeoutMs`. Resolves with how it ended.
     */
    async stop(proc: ManagedProcess, opts: { graceMs: number; timeoutMs: number; ask?: () => Promise<boolean> }): Promise<StopOutcome> {
      proc.expected = true;
      const started = Date.now();
      const left = (ms: number) => Math.max(0, ms - (Date.now() - started));
      let escalation: Escalation = 'none';
      let asked = false;
      if (opts.ask && !proc.exit) asked = await opts.ask().catch(() => false);
      const termAt = asked ? Math.min(opts.graceMs, opts.timeoutMs) : 0;
      if (!(await waitExit(proc, left(termAt)))) {
        escalation = 'SIGTERM';
        signal(proc, 'SIGTERM');
        if (!(await waitExit(proc, left(opts.timeoutMs)))) {
          escalation = 'SIGKILL';
          signal(proc, 'SIGKILL');
          // SIGKILL cannot be refused; an adopted process is noticed by the poll.
          await waitExit(proc, 10_000);
        }
      }
      const exit = proc.exit ?? { code: null, signal: escalation === 'SIGKILL' ? 'SIGKILL' : null, at: new Date() };
      return { exit, escalation, asked };
    },

    /** Saves how far each capture file was read into the run records (an AMS crash resumes there). */
    saveOffsets(): void {
      for (const e of entries.values()) if (!e.proc.exit && e.proc.identity.startTime) records.write(recordOf(e));
    },

    /** Reads pending output of every process now. */
    readAll(): void {
      for (const e of entries.values()) readOutput(e);
    },

    /**
     * Forgets every process without touching it, as an AMS that crashed would: they keep
     * running and their run records stay for the next AMS to adopt. For tests and tools.
     */
    detach(): void {
      for (const e of entries.values()) {
        readOutput(e);
        if (e.proc.identity.startTime) records.write(recordOf(e));
        detachOutput(e);
        e.detached = true;
      }
      entries.clear();
    },

    close(): void {
      clearInterval(fallback);
      for (const e of entries.values()) detachOutput(e);
    },
  };
}
