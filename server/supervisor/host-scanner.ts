// This host's side of discovery (seed §3): reads every package folder of the host's agents
// directory at start, then on every change (chokidar), and sends the whole reading as one
// `packages.scan` observation; the control plane decides what each package means for the
// registry (register, update, conflict, ...). Each package is judged alone: one broken folder
// never stops a scan. Whether a valid package's command can run here is judged here too.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { ObservationBody, PackageReadingWire } from '../broker/host-protocol.js';
import { listPackageFolders, readPackage } from '../scanner/package-reader.js';
import { CommandError, resolveCommand } from './command.js';

/** Only the package-format fields are kept: anything else in the file (a secret, say) is not sent or shown. */
const KEPT_FIELD = /^(AGENT_|DEFAULT_)[A-Z0-9_]*$/;

export interface HostScannerDeps {
  agentsDir: string;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  emit(scan: ObservationBody<'packages.scan'>): void;
  /** A package folder changed (the launcher forgets how it was run). */
  onChange?(): void;
  debounceMs?: number;
}

export type HostScanner = ReturnType<typeof createHostScanner>;

export function createHostScanner(deps: HostScannerDeps) {
  const { agentsDir, logger } = deps;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<string> | undefined;
  let queued: 'watch' | undefined;
  let stopped = false;

  function readingOf(folder: string): PackageReadingWire {
    let r;
    try {
      r = readPackage(agentsDir, folder);
    } catch (err) {
      return { path: folder, fields: {}, problems: [`could not be read: ${(err as Error).message}`], agent: null, checksum: null, launch_error: null };
    }
    const fields = Object.fromEntries(Object.entries(r.fields).filter(([k]) => KEPT_FIELD.test(k)));
    let launchError: string | null = null;
    if (r.agent) {
      try {
        resolveCommand(r.agent.command, path.join(agentsDir, folder), deps.env.PATH ?? process.env.PATH);
      } catch (err) {
        launchError = err instanceof CommandError ? err.message : (err as Error).message;
      }
    }
    return {
      path: r.path,
      fields,
      problems: r.problems,
      agent: r.agent ? { ...r.agent } : null,
      checksum: r.checksum,
      launch_error: launchError,
      ...(r.ignored ? { ignored: r.ignored } : {}),
    };
  }

  function scanNow(trigger: 'start' | 'watch' | 'api', scanId: string): string {
    const startedAt = new Date().toISOString();
    let readings: PackageReadingWire[] = [];
    let error: string | null = null;
    try {
      readings = listPackageFolders(agentsDir).map(readingOf);
    } catch (err) {
      error = (err as Error).message;
      logger.error({ err: error }, 'package scan failed');
    }
    deps.emit({ scan_id: scanId, trigger, started_at: startedAt, finished_at: new Date().toISOString(), status: error ? 'failed' : 'completed', error, readings });
    deps.onChange?.();
    return scanId;
  }

  /** Scans now, or after the scan running; scans never overlap. Answers the scan's id. */
  function scan(trigger: 'start' | 'watch' | 'api'): { id: string; done: Promise<string> } {
    if (running && trigger === 'watch') {
      queued = 'watch';
      return { id: '', done: running };
    }
    const id = randomUUID();
    const prev = running ?? Promise.resolve('');
    const done = prev.then(() => scanNow(trigger, id));
    const tracked: Promise<string> = done.finally(() => {
      if (running === tracked) running = undefined;
      if (queued && !stopped) {
        queued = undefined;
        scan('watch');
      }
    });
    running = tracked;
    return { id, done };
  }

  return {
    agentsDir,
    scan,
    /** The number of package folders now (for a rescan's progress). */
    count(): number | null {
      try {
        return listPackageFolders(agentsDir).length;
      } catch {
        return null;
      }
    },
    async start(): Promise<string> {
      fs.mkdirSync(agentsDir, { recursive: true });
      const first = scan('start');
      await first.done;
      watcher = chokidar.watch(agentsDir, { ignoreInitial: true, depth: 1, followSymlinks: false, persistent: true });
      const changed = () => {
        clearTimeout(timer);
        timer = setTimeout(() => scan('watch'), deps.debounceMs ?? 250);
      };
      watcher.on('all', changed).on('error', (err) => logger.warn({ err: (err as Error).message }, 'agents directory watcher error'));
      await new Promise<void>((resolve) => watcher!.once('ready', () => resolve()));
      return first.id;
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await watcher?.close();
      queued = undefined;
      await running?.catch(() => undefined);
    },
  };
}
