// AMS process settings: CLI flags over OPMAS_* environment over defaults.
// Pure: takes argv and env, returns settings or throws SettingsError naming the bad input.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface AmsSettings {
  host: string;
  port: number;
  dataDir: string;
  /** External PostgreSQL URL; undefined means embedded PGlite under `<dataDir>/db`. */
  dbUrl?: string;
  logLevel: string;
  /** Folder holding the built console (index.html); served at `/` when present. */
  staticDir?: string;
}

export class SettingsError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Flags accepted by `npm run serve --`, with the environment variable each one mirrors. */
export const SETTINGS_FLAGS = {
  host: { env: 'OPMAS_HOST', help: 'address to bind (default 127.0.0.1)' },
  port: { env: 'OPMAS_PORT', help: 'TCP port, 0 picks a free one (default 8470)' },
  'data-dir': { env: 'OPMAS_DATA_DIR', help: 'data directory (default: per-user data dir)' },
  'db-url': { env: 'OPMAS_DB_URL', help: 'PostgreSQL URL; without it the embedded PGlite is used' },
  'log-level': { env: 'OPMAS_AMS_LOG_LEVEL', help: 'AMS log level: fatal|error|warn|info|debug|trace|silent' },
  'static-dir': { env: 'OPMAS_STATIC_DIR', help: 'folder with the built web console' },
} as const;

export const DEFAULT_PORT = 8470;

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const home = env.HOME || os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'opmas-console');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'opmas-console');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'opmas-console');
}

export function parseSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): AmsSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(SETTINGS_FLAGS).map((k) => [k, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new SettingsError((err as Error).message);
  }
  const pick = (flag: keyof typeof SETTINGS_FLAGS): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string' && v !== '') return v;
    const e = env[SETTINGS_FLAGS[flag].env];
    return e === undefined || e === '' ? undefined : e;
  };

  const portText = pick('port');
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SettingsError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(portText)}`);
  }
  const logLevel = (pick('log-level') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new SettingsError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  const dbUrl = pick('db-url');
  if (dbUrl !== undefined && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new SettingsError('--db-url must be a postgres:// or postgresql:// URL');
  }
  const staticDir = pick('static-dir');
  return {
    host: pick('host') ?? '127.0.0.1',
    port,
    dataDir: path.resolve(pick('data-dir') ?? defaultDataDir(env)),
    dbUrl,
    logLevel,
    staticDir: staticDir ? path.resolve(staticDir) : undefined,
  };
}
