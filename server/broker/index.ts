// The broker layer in one call: startBroker() runs or reaches NATS (host or external mode),
// connects the AMS, and hands back the credential issuer and a health check. The integrator
// calls it from server/ams.ts; storing issued credentials and public keys is the caller's job.
import path from 'node:path';
import type { Logger } from 'pino';
import { createAgentMessageConsumer, type AgentMessageConsumer, type AgentMessageHandlers } from './agent-consumer.js';
import { createBrokerConnection, type BrokerConnection, type BrokerConnectionStatus, type BrokerTlsOptions, type ReconnectPolicy } from './connection.js';
import { createCredentialIssuer, createFileRevocationStore, createHostAuthConfig, createMemoryRevocationStore, type CredentialIssuer } from './credentials.js';
import { BrokerSettingsInvalid } from './errors.js';
import { EXTERNAL_SECRET_ENV, pushRevocations, readExternalSettings } from './external.js';
import { loadOrCreateHostKeys, natsDir } from './key-store.js';
import { createNatsServer, type NatsServerHandle, type NatsServerInfo, type RestartPolicy } from './nats-server.js';

export type BrokerMode = 'host' | 'external';

/** `OPMAS_NATS_MODE` when set; otherwise external when `OPMAS_NATS_URL` names a server, else host. */
export function brokerModeFromEnv(env: NodeJS.ProcessEnv): BrokerMode {
  const explicit = env.OPMAS_NATS_MODE?.trim().toLowerCase();
  if (explicit === 'host' || explicit === 'external') return explicit;
  if (explicit) throw new BrokerSettingsInvalid(`OPMAS_NATS_MODE must be host or external, got ${JSON.stringify(env.OPMAS_NATS_MODE)}`);
  return env.OPMAS_NATS_URL ? 'external' : 'host';
}

/** Environment variables of the AMS that agents must never inherit (the AMS's own secrets). */
export const BROKER_SECRET_ENV: readonly string[] = EXTERNAL_SECRET_ENV;

/** Shaped like the health service's component result: status, latency and details. */
export interface BrokerHealth {
  status: 'ok' | 'degraded' | 'down';
  latency_ms: number | null;
  error?: string;
  mode: BrokerMode;
  url: string | null;
  connection: BrokerConnectionStatus;
  /** Host mode only: the nats-server child. */
  server?: Pick<NatsServerInfo, 'state' | 'pid' | 'restarts' | 'version'>;
  /** Messages dropped by the consumers, by reason. */
  dropped_messages?: Record<string, number>;
  [detail: string]: unknown;
}

export interface StartBrokerOptions {
  dataDir: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Default: brokerModeFromEnv(env). */
  mode?: BrokerMode;
  /** Host mode: the packaged app's resources dir (nats-server in `bin/`). */
  resourcesDir?: string;
  /** Host mode: an explicit nats-server binary. */
  natsServerBin?: string;
  /** Host mode: a fixed port (default: last time's, else a free one). */
  port?: number;
  restartPolicy?: Partial<RestartPolicy>;
  reconnectPolicy?: Partial<ReconnectPolicy>;
  /** How long startBroker waits for the first connection before returning anyway (default 10 s). */
  connectTimeoutMs?: number;
}

export interface Broker {
  readonly mode: BrokerMode;
  /** The URL agents connect to (OPMAS_NATS_URL for them); undefined before host mode picked a port. */
  readonly url: string | undefined;
  readonly connection: BrokerConnection;
  readonly issuer: CredentialIssuer;
  /** The servers to connect to now (for other connections of this process, e.g. its supervisor's). */
  servers(): string[];
  /** TLS files of external mode. */
  readonly tls?: BrokerTlsOptions;
  /** Host mode: the nats-server child. */
  readonly server?: NatsServerHandle;
  /** Starts a consumer of every agent's heartbeat/status/metrics/logs; its drop counters show in health(). */
  consume(handlers: AgentMessageHandlers, opts?: { queue?: string }): AgentMessageConsumer;
  health(): Promise<BrokerHealth>;
  /** Stops the consumers, drains the connection, stops nats-server (host mode). */
  stop(): Promise<void>;
}

/**
 * Starts the broker layer. Never fails because NATS is unreachable or nats-server is missing:
 * the AMS runs on, health() reports the broker down and everything reconnects by itself. It
 * throws BrokerSettingsInvalid for settings that cannot work (external mode without creds).
 */
export async function startBroker(opts: StartBrokerOptions): Promise<Broker> {
  const env = opts.env ?? process.env;
  const mode = opts.mode ?? brokerModeFromEnv(env);
  const { logger } = opts;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const dir = natsDir(opts.dataDir);
  const revocations = mode === 'host' ? createFileRevocationStore(path.join(dir, 'revocations.json')) : createMemoryRevocationStore();
  const consumers: AgentMessageConsumer[] = [];

  let server: NatsServerHandle | undefined;
  let issuer: CredentialIssuer;
  let connection: BrokerConnection;
  let url: () => string | undefined;
  let servers: () => string[];
  let tls: BrokerTlsOptions | undefined;

  if (mode === 'host') {
    const keys = loadOrCreateHostKeys(dir);
    const hostAuth = createHostAuthConfig(keys);
    const srv = createNatsServer({
      dataDir: opts.dataDir,
      logger,
      env,
      binary: opts.natsServerBin,
      resourcesDir: opts.resourcesDir,
      port: opts.port,
      restartPolicy: opts.restartPolicy,
      auth: () => hostAuth(revocations.list()),
    });
    server = srv;
    issuer = createCredentialIssuer({
      accountPublicKey: keys.account.getPublicKey(),
      signingKey: keys.account,
      revocations,
      async applyRevocations() {
        try {
          await srv.reload();
          return { applied: true, detail: 'nats-server reloaded with the new revocation list' };
        } catch (err) {
          return { applied: false, detail: `recorded; applied when nats-server runs again (${(err as Error).message})` };
        }
      },
    });
    const ams = await issuer.issueAms();
    url = () => srv.url();
    try {
      await srv.start();
      logger.info({ url: srv.url(), version: srv.info().version }, 'nats-server started');
    } catch (err) {
      logger.error({ code: (err as { code?: string }).code, reason: (err as Error).message }, 'nats-server did not start; retrying in the background');
    }
    servers = () => {
      const u = srv.url();
      return u ? [u] : [];
    };
    connection = createBrokerConnection({ servers, creds: () => ams.creds, logger, reconnectPolicy: opts.reconnectPolicy });
    let lastUrl = srv.url();
    srv.onStateChange((_state, info) => {
      if (info.url && info.url !== lastUrl) {
        lastUrl = info.url;
        logger.warn({ url: info.url }, 'nats-server moved to another port');
        connection.serversChanged();
      }
    });
  } else {
    const settings = readExternalSettings(env);
    issuer = createCredentialIssuer({
      accountPublicKey: settings.accountPublicKey,
      signingKey: settings.accountSigningKey,
      revocations,
      applyRevocations: (list) => pushRevocations(settings, list),
    });
    url = () => settings.servers.join(',');
    servers = () => settings.servers;
    tls = settings.tls;
    connection = createBrokerConnection({ servers, creds: () => settings.amsCreds, tls: settings.tls, logger, reconnectPolicy: opts.reconnectPolicy });
  }

  connection.start();
  if (mode === 'external' || server?.state() === 'running') {
    if (!(await connection.waitConnected(connectTimeoutMs))) {
      logger.warn({ reason: connection.lastError() }, 'not connected to the broker yet; continuing and retrying in the background');
    }
  }

  return {
    mode,
    get url() {
      return url();
    },
    connection,
    issuer,
    server,
    servers: () => servers(),
    tls,
    consume(handlers, consumeOpts = {}) {
      const consumer = createAgentMessageConsumer({ source: connection, logger, handlers, queue: consumeOpts.queue });
      consumer.start();
      consumers.push(consumer);
      return consumer;
    },
    async health(): Promise<BrokerHealth> {
      const dropped: Record<string, number> = {};
      for (const c of consumers) for (const [reason, n] of Object.entries(c.counters().dropped)) dropped[reason] = (dropped[reason] ?? 0) + n;
      const base = {
        mode,
        url: url() ?? null,
        connection: connection.status(),
        ...(server ? { server: pick(server.info()) } : {}),
        ...(consumers.length > 0 ? { dropped_messages: dropped } : {}),
      };
      const serverError = server && server.state() !== 'running' ? `nats-server is ${server.state()}${server.info().lastError ? `: ${server.info().lastError}` : ''}` : undefined;
      if (connection.status() !== 'connected') {
        return { status: 'down', latency_ms: null, error: serverError ?? `broker ${connection.status()}${connection.lastError() ? `: ${connection.lastError()}` : ''}`, ...base };
      }
      try {
        const latency = await withTimeout(connection.latency(), 2000);
        return { status: serverError ? 'degraded' : 'ok', latency_ms: Math.round(latency * 100) / 100, ...(serverError ? { error: serverError } : {}), ...base };
      } catch (err) {
        return { status: 'down', latency_ms: null, error: (err as Error).message, ...base };
      }
    },
    async stop() {
      for (const c of consumers.splice(0)) c.stop();
      await connection.close();
      await server?.stop();
    },
  };
}

function pick(info: NatsServerInfo): NonNullable<BrokerHealth['server']> {
  return { state: info.state, pid: info.pid, restarts: info.restarts, version: info.version };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

export { subjects, agentIdFromSubject, parseAgentSubject } from './subjects.js';
export { agentPermissions, amsPermissions, type IssuedCredentials, type RevocationOutcome, type CredentialIssuer } from './credentials.js';
export type { BrokerConnection, BrokerConnectionStatus } from './connection.js';
export type { AgentMessage, AgentMessageConsumer, AgentMessageHandlers, ConsumerCounters } from './agent-consumer.js';
export type { NatsServerHandle, NatsServerState } from './nats-server.js';
export { BrokerSettingsInvalid, NatsServerNotFound } from './errors.js';
