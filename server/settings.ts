// AMS process settings: CLI flags over OPMAS_* environment over defaults.
// Pure: takes argv and env, returns settings or throws SettingsError naming the bad input.
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseTrustedProxies } from './security/client-address.js';

/** What this process runs (DESIGN.md "Cluster"). */
export const ROLES = ['all', 'api', 'supervisor'] as const;
export type Role = (typeof ROLES)[number];

export interface AmsSettings {
  /** all: API + control plane + this host's supervisor (default); api: no processes; supervisor: no HTTP, no database. */
  role: Role;
  /** This host's id for its supervisor; default the id kept in `<dataDir>/host-id` (made on first start). */
  hostId?: string;
  /** Seconds between the supervisor's full reconciliations. */
  reconcileIntervalS: number;
  /** Seconds a host's lease lives without renewal (renewed every third of it). */
  leaseTtlS: number;
  host: string;
  port: number;
  dataDir: string;
  /** External PostgreSQL URL; undefined means embedded PGlite under `<dataDir>/db`. */
  dbUrl?: string;
  logLevel: string;
  /** Folder holding the built console (index.html); served at `/` when present. */
  staticDir?: string;
  /** Where agent packages are discovered (default `<dataDir>/agents`). */
  agentsDir: string;
  /** The packaged app's resources folder (a bundled nats-server in `bin/`, the sample agents in `agents/`). */
  resourcesDir?: string;
  /** The migrated PGlite database a first start loads (pglite-template.tgz beside the built server entry). */
  pgliteTemplate?: string;
  /** Sample agent packages copied into the agents directory when it does not exist yet (main.ts finds them). */
  sampleAgentsDir?: string;
  /** Terminal log lines: `pretty` (readable) or `json`; undefined picks pretty on a TTY. */
  logFormat?: 'json' | 'pretty';
  tlsCert?: string;
  tlsKey?: string;
  /** Allows a non-loopback address without TLS. */
  insecure: boolean;
  accessTokenTtlS: number;
  refreshTokenTtlS: number;
  /** API requests per minute per bearer token (or per address without one). */
  rateLimitPerMinute: number;
  /** Login and setup attempts per minute, per address and per username. */
  loginRateLimitPerMinute: number;
  /** Failed authentications per minute per client address before 429. */
  authFailureRateLimitPerMinute: number;
  /** Requests per minute per address to /api/v1/health and /metrics. */
  healthRateLimitPerMinute: number;
  /** --trust-proxy: addresses and CIDR ranges of proxies whose X-Forwarded-For is believed. */
  trustProxy: string[];
  corsOrigins: string[];
  /** Days of raw metric samples kept (agent_resource_metrics, agent_metrics). */
  metricsRetentionDays: number;
  /** Days of 1-minute, 5-minute and 1-hour metric rollups kept. */
  metrics1mRetentionDays: number;
  metrics5mRetentionDays: number;
  metrics1hRetentionDays: number;
  /** Days of agent log lines kept. */
  logRetentionDays: number;
  /** Newest log lines kept per agent, so a chatty agent cannot fill the disk within the age limit. */
  logMaxRowsPerAgent: number;
}

/** Secrets the AMS reads from its environment only (never flags, so they stay out of `ps`). */
export interface AmsSecrets {
  adminPassword?: string;
  hostSecret?: string;
  jwtSecret?: string;
}

export const SECRET_VARIABLES = { adminPassword: 'OPMAS_ADMIN_PASSWORD', hostSecret: 'OPMAS_HOST_SECRET', jwtSecret: 'OPMAS_JWT_SECRET' } as const;

/** Reads the secrets and removes them from `env`, so that no child process (agents, nats-server) inherits them. */
export function takeSecrets(env: NodeJS.ProcessEnv): AmsSecrets {
  const out: AmsSecrets = {};
  for (const [key, name] of Object.entries(SECRET_VARIABLES) as Array<[keyof AmsSecrets, string]>) {
    if (env[name]) out[key] = env[name];
    delete env[name];
  }
  return out;
}

export class SettingsError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Flags accepted by `npm run serve --`, with the environment variable each one mirrors. */
export const SETTINGS_FLAGS = {
  role: { env: 'OPMAS_ROLE', help: 'all (API + a supervisor for this host, default) | api (REST + WebSocket, runs no processes) | supervisor (this host\'s agents, no HTTP, no database)' },
  'host-id': { env: 'OPMAS_HOST_ID', help: "this host's id for its supervisor (default: made on first start, kept in <data-dir>/host-id)" },
  'reconcile-interval': { env: 'OPMAS_RECONCILE_INTERVAL', help: 'seconds between the supervisor\'s full reconciliations (default 10)' },
  'lease-ttl': { env: 'OPMAS_LEASE_TTL', help: "seconds a host's supervisor lease lives without renewal (default 10)" },
  host: { env: 'OPMAS_HOST', help: 'address to bind (default 127.0.0.1)' },
  port: { env: 'OPMAS_PORT', help: 'TCP port, 0 picks a free one (default 8470)' },
  'data-dir': { env: 'OPMAS_DATA_DIR', help: 'data directory (default: per-user data dir)' },
  'db-url': { env: 'OPMAS_DB_URL', help: 'PostgreSQL URL; without it the embedded PGlite is used' },
  'log-level': { env: 'OPMAS_AMS_LOG_LEVEL', help: 'AMS log level: fatal|error|warn|info|debug|trace|silent' },
  'log-format': { env: 'OPMAS_LOG_FORMAT', help: 'log lines on stderr: pretty|json (default: pretty on a terminal, else json)' },
  'static-dir': { env: 'OPMAS_STATIC_DIR', help: 'folder with the built web console' },
  'agents-dir': { env: 'OPMAS_AGENTS_DIR', help: 'folder of agent packages to discover (default <data-dir>/agents)' },
  'resources-dir': { env: 'OPMAS_RESOURCES_DIR', help: "the packaged app's resources (bundled nats-server in bin/)" },
  'tls-cert': { env: 'OPMAS_TLS_CERT', help: 'PEM certificate file: serve HTTPS' },
  'tls-key': { env: 'OPMAS_TLS_KEY', help: 'PEM private key file for --tls-cert' },
  insecure: { env: 'OPMAS_INSECURE', help: 'allow a non-loopback --host without TLS', boolean: true },
  'access-token-ttl': { env: 'OPMAS_ACCESS_TOKEN_TTL', help: 'access token lifetime in seconds (default 900)' },
  'refresh-token-ttl': { env: 'OPMAS_REFRESH_TOKEN_TTL', help: 'refresh token lifetime in seconds (default 604800)' },
  'rate-limit': { env: 'OPMAS_RATE_LIMIT', help: 'API requests per minute per token (default 3000)' },
  'login-rate-limit': { env: 'OPMAS_LOGIN_RATE_LIMIT', help: 'login/setup attempts per minute per address and per username (default 10)' },
  'auth-failure-rate-limit': { env: 'OPMAS_AUTH_FAILURE_RATE_LIMIT', help: 'failed authentications per minute per client address before 429 (default 30)' },
  'health-rate-limit': { env: 'OPMAS_HEALTH_RATE_LIMIT', help: 'requests per minute per address to /api/v1/health and /metrics (default 60000)' },
  'trust-proxy': { env: 'OPMAS_TRUST_PROXY', help: 'comma-separated addresses or CIDR ranges of proxies whose X-Forwarded-For names the client (default: none)' },
  'cors-origins': { env: 'OPMAS_CORS_ORIGINS', help: 'comma-separated origins allowed by CORS (default: none)' },
  'metrics-retention-days': { env: 'OPMAS_METRICS_RETENTION_DAYS', help: 'days of raw metric samples kept (default 7)' },
  'metrics-1m-retention-days': { env: 'OPMAS_METRICS_1M_RETENTION_DAYS', help: 'days of 1-minute metric rollups kept (default 30)' },
  'metrics-5m-retention-days': { env: 'OPMAS_METRICS_5M_RETENTION_DAYS', help: 'days of 5-minute metric rollups kept (default 90)' },
  'metrics-1h-retention-days': { env: 'OPMAS_METRICS_1H_RETENTION_DAYS', help: 'days of 1-hour metric rollups kept (default 365)' },
  'log-retention-days': { env: 'OPMAS_LOG_RETENTION_DAYS', help: 'days of agent logs kept (default 7)' },
  'log-max-rows-per-agent': { env: 'OPMAS_LOG_MAX_ROWS_PER_AGENT', help: 'newest log lines kept per agent (default 100000)' },
} as const satisfies Record<string, { env: string; help: string; boolean?: boolean }>;

export const DEFAULT_PORT = 8470;

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const home = env.HOME || os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'opmas-console');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'opmas-console');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'opmas-console');
}

/** The --trust-proxy list, each entry checked now so that a typo stops the AMS at start. */
function trustProxyList(text: string | undefined): string[] {
  try {
    return [...parseTrustedProxies(text).entries];
  } catch (err) {
    throw new SettingsError((err as Error).message);
  }
}

export function parseSettings(argv: string[], env: NodeJS.ProcessEnv = process.env): AmsSettings {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(SETTINGS_FLAGS).map(([k, f]) => [k, { type: 'boolean' in f ? ('boolean' as const) : ('string' as const) }]),
    );
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
  const logFormat = pick('log-format')?.toLowerCase();
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'pretty') {
    throw new SettingsError(`--log-format must be json or pretty, got ${JSON.stringify(logFormat)}`);
  }
  const dbUrl = pick('db-url');
  if (dbUrl !== undefined && !/^postgres(ql)?:\/\//.test(dbUrl)) {
    throw new SettingsError('--db-url must be a postgres:// or postgresql:// URL');
  }
  const staticDir = pick('static-dir');
  const int = (flag: keyof typeof SETTINGS_FLAGS, fallback: number, min: number, max: number): number => {
    const text = pick(flag);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new SettingsError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return n;
  };
  const tlsCert = pick('tls-cert');
  const tlsKey = pick('tls-key');
  if (Boolean(tlsCert) !== Boolean(tlsKey)) throw new SettingsError('--tls-cert and --tls-key go together');
  const insecureEnv = env.OPMAS_INSECURE;
  const insecure = values.insecure === true || insecureEnv === '1' || insecureEnv?.toLowerCase() === 'true';
  const dataDir = path.resolve(pick('data-dir') ?? defaultDataDir(env));
  const role = (pick('role') ?? 'all').toLowerCase();
  if (!(ROLES as readonly string[]).includes(role)) throw new SettingsError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  const hostId = pick('host-id');
  if (hostId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(hostId)) {
    throw new SettingsError(`--host-id must be 1 to 64 letters, digits, _ or - (starting with a letter or digit), got ${JSON.stringify(hostId)}`);
  }
  const seconds = (flag: keyof typeof SETTINGS_FLAGS, fallback: number, min: number, max: number): number => {
    const text = pick(flag);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) throw new SettingsError(`--${flag} must be a number of seconds from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return n;
  };
  return {
    role: role as Role,
    hostId,
    reconcileIntervalS: seconds('reconcile-interval', 10, 0.1, 3600),
    leaseTtlS: seconds('lease-ttl', 10, 1, 3600),
    host: pick('host') ?? '127.0.0.1',
    port,
    dataDir,
    agentsDir: path.resolve(pick('agents-dir') ?? path.join(dataDir, 'agents')),
    resourcesDir: pick('resources-dir') && path.resolve(pick('resources-dir')!),
    dbUrl,
    logLevel,
    logFormat: logFormat as AmsSettings['logFormat'],
    staticDir: staticDir ? path.resolve(staticDir) : undefined,
    tlsCert: tlsCert && path.resolve(tlsCert),
    tlsKey: tlsKey && path.resolve(tlsKey),
    insecure,
    accessTokenTtlS: int('access-token-ttl', 900, 10, 86_400),
    refreshTokenTtlS: int('refresh-token-ttl', 604_800, 60, 31_536_000),
    rateLimitPerMinute: int('rate-limit', 3000, 1, 10_000_000),
    loginRateLimitPerMinute: int('login-rate-limit', 10, 1, 100_000),
    authFailureRateLimitPerMinute: int('auth-failure-rate-limit', 30, 1, 1_000_000),
    healthRateLimitPerMinute: int('health-rate-limit', 60_000, 1, 10_000_000),
    trustProxy: trustProxyList(pick('trust-proxy')),
    corsOrigins: (pick('cors-origins') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    metricsRetentionDays: int('metrics-retention-days', 7, 1, 3650),
    metrics1mRetentionDays: int('metrics-1m-retention-days', 30, 1, 3650),
    metrics5mRetentionDays: int('metrics-5m-retention-days', 90, 1, 3650),
    metrics1hRetentionDays: int('metrics-1h-retention-days', 365, 1, 36500),
    logRetentionDays: int('log-retention-days', 7, 1, 3650),
    logMaxRowsPerAgent: int('log-max-rows-per-agent', 100_000, 100, 100_000_000),
  };
}
