// AMS entry point: `npm run serve`, and the process the desktop app forks in host mode.
// Prints exactly one JSON ready line on stdout; logs go to stderr.
import fs from 'node:fs';
import path from 'node:path';
import { startAms } from './ams.js';
import { createLogger } from './logger.js';
import { DataDirLocked } from './lockfile.js';
import { parseSettings, SettingsError, takeSecrets } from './settings.js';

const SHUTDOWN_LIMIT_MS = 9500;

async function main(): Promise<void> {
  let settings;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`opmas-ams: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  settings.staticDir ??= defaultConsoleDir();
  settings.pgliteTemplate ??= shippedPgliteTemplate();
  const secrets = takeSecrets(process.env);
  const logger = createLogger(settings.logLevel);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

  let ams;
  try {
    ams = await startAms(settings, { logger, secrets });
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`opmas-ams: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof DataDirLocked) {
      process.stderr.write(`opmas-ams: ${err.message}\n`);
      logger.error({ dataDir: settings.dataDir }, 'data directory is locked by another AMS');
      process.exit(1);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`opmas-ams: ${settings.host}:${settings.port} is already in use; choose another --port (0 picks a free one)\n`);
      process.exit(1);
    }
    logger.fatal({ err }, 'AMS failed to start');
    process.exit(1);
  }

  const ready = { event: 'ready', url: ams.url, pid: process.pid };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.send?.(ready);
  const parentPort = electronParentPort();
  parentPort?.postMessage(ready);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const limit = setTimeout(() => {
      logger.warn('shutdown took too long; exiting');
      process.exit(0);
    }, SHUTDOWN_LIMIT_MS);
    limit.unref();
    ams.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Host mode: the desktop app asks over IPC when signals are not available (Windows).
  process.on('message', (msg) => {
    if ((msg as { event?: string })?.event === 'shutdown') stop('ipc');
  });
  parentPort?.on('message', (e) => {
    if ((e.data as { event?: string })?.event === 'shutdown') stop('ipc');
  });
}

/**
 * Forked by Electron's utilityProcess, the parent is reached through process.parentPort
 * instead of process.send. Read structurally: server/ never imports electron.
 */
function electronParentPort(): { postMessage(message: unknown): void; on(event: 'message', listener: (e: { data: unknown }) => void): void } | undefined {
  return (process as unknown as { parentPort?: ReturnType<typeof electronParentPort> }).parentPort;
}

/** The migrated PGlite database built beside this entry (out/main/pglite-template.tgz), when there is one. */
function shippedPgliteTemplate(): string | undefined {
  const file = path.join(import.meta.dirname, 'pglite-template.tgz');
  return fs.existsSync(file) ? file : undefined;
}

/** The built web console next to this entry: out/renderer from out/main/server.js, or from the source tree. */
function defaultConsoleDir(): string | undefined {
  const here = import.meta.dirname;
  return [path.resolve(here, '../renderer'), path.resolve(here, '../out/renderer')].find((d) => fs.existsSync(path.join(d, 'index.html')));
}

void main();
