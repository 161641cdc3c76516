// AMS entry point: `npm run serve`, and the process the desktop app forks in host mode.
// Prints exactly one JSON ready line on stdout; logs go to stderr.
import fs from 'node:fs';
import path from 'node:path';
import { startAms } from './ams.js';
import { createTerminalLogger, pickLogFormat } from './logger.js';
import { DataDirLocked } from './lockfile.js';
import { parseSettings, SETTINGS_FLAGS, SettingsError, takeSecrets } from './settings.js';
import { startSupervisorRole } from './supervisor/standalone.js';
import { HostHeld } from './supervisor/host-lease.js';
import { BrokerSettingsInvalid } from './broker/errors.js';
import { locateSampleAgents } from './agents-directory.js';
import { setupTokenBlock, startupBlock, type StartupFacts, startupLogFields } from './startup-report.js';
import { AMS_VERSION } from './version.js';

const SHUTDOWN_LIMIT_MS = 9500;

function usage(): string {
  const lines = Object.entries(SETTINGS_FLAGS).map(([flag, f]) => `  --${flag.padEnd(24)} ${f.help} [${f.env}]`);
  return ['usage: npm run serve -- [flags]', '', 'Runs the AMS. Flags win over the environment variables in brackets.', '', ...lines, '  --help                   this text', ''].join('\n');
}

async function main(): Promise<void> {
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(usage());
    process.exit(0);
  }
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
  settings.sampleAgentsDir ??= locateSampleAgents(settings.resourcesDir);
  const secrets = takeSecrets(process.env);
  const format = pickLogFormat(settings.logFormat, process.stderr.isTTY === true);
  const logger = createTerminalLogger(settings.logLevel, format, process.stderr.hasColors?.() === true);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  if (settings.role === 'supervisor') return runSupervisor(settings, logger);

  // The setup token is shown to the person, never logged: a raw line for programs (JSON
  // mode), a block to paste from on a terminal, after the startup block when it is known then.
  let consoleUrl: string | undefined;
  let pendingToken: string | undefined;
  const announce = (line: string, facts?: { setupToken?: string }) => {
    if (format === 'json' || !facts?.setupToken) return void process.stderr.write(`${line}\n`);
    if (consoleUrl) process.stderr.write(`${setupTokenBlock(consoleUrl, facts.setupToken).join('\n')}\n`);
    else pendingToken = facts.setupToken;
  };

  let ams;
  try {
    ams = await startAms(settings, { logger, secrets, announce });
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

  const ready = { event: 'ready', url: ams.url, pid: process.pid, ...(settings.role === 'api' ? { role: 'api' } : {}) };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.send?.(ready);
  const parentPort = electronParentPort();
  parentPort?.postMessage(ready);

  const broker = await ams.broker.health().catch(() => undefined);
  const facts: StartupFacts = {
    version: AMS_VERSION,
    url: ams.url,
    dataDir: settings.dataDir,
    agentsDir: ams.agentsDirectory.path,
    samplesCopied: ams.agentsDirectory.samplesCopied,
    database: { kind: ams.db.kind, dbUrl: settings.dbUrl },
    broker: { mode: ams.broker.mode, url: broker?.url ?? ams.broker.url ?? null, status: broker?.status ?? 'down', error: broker?.error },
    consoleServed: Boolean(settings.staticDir),
  };
  if (format === 'pretty') {
    process.stderr.write(`${startupBlock(facts).join('\n')}\n`);
    consoleUrl = ams.url;
    if (pendingToken) process.stderr.write(`${setupTokenBlock(consoleUrl, pendingToken).join('\n')}\n`);
    pendingToken = undefined;
  } else {
    logger.info(startupLogFields(facts), 'AMS ready');
  }

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

/** `--role supervisor`: no HTTP, no database; ready once it holds its host's lease. */
async function runSupervisor(settings: ReturnType<typeof parseSettings>, logger: ReturnType<typeof createTerminalLogger>): Promise<void> {
  let sup;
  try {
    sup = await startSupervisorRole(settings, { logger, onFenced: () => process.exit(3) });
  } catch (err) {
    if (err instanceof HostHeld || err instanceof DataDirLocked || err instanceof BrokerSettingsInvalid || err instanceof SettingsError) {
      process.stderr.write(`opmas-ams: ${(err as Error).message}\n`);
      process.exit(err instanceof BrokerSettingsInvalid || err instanceof SettingsError ? 2 : 1);
    }
    logger.fatal({ err }, 'supervisor failed to start');
    process.exit(1);
  }
  const ready = { event: 'ready', role: 'supervisor', host_id: sup.hostId, epoch: sup.epoch, pid: process.pid };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.send?.(ready);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const limit = setTimeout(() => process.exit(0), SHUTDOWN_LIMIT_MS);
    limit.unref();
    sup.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
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
