// Composition root of the AMS: data dir lock -> database -> migrations -> services ->
// HTTP server. Used by main.ts (standalone and host mode) and by the server tests, so the
// tests run exactly what ships.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { acquireDataDirLock } from './lockfile.js';
import { asDatabaseUnavailable, type Database, openDatabase } from './db/database.js';
import { migrateLatest } from './db/migrate.js';
import { createApp, type Services } from './app.js';
import { createAgentService } from './services/agents.js';
import { createConfigService } from './services/config.js';
import { createHealthService } from './services/health.js';
import { createRegistrationService } from './services/registration.js';
import { createScanner } from './scanner/scanner.js';
import { type Broker, startBroker } from './broker/index.js';
import { createCredentialsService } from './services/credentials.js';
import { createIngest } from './monitoring/ingest.js';
import { createEventBus } from './events/bus.js';
import { createSampler, DEFAULT_METRICS_INTERVAL_S, warningThresholds } from './monitoring/sampler.js';
import { createRetention } from './monitoring/retention.js';
import { createMetricKinds } from './monitoring/metric-kinds.js';
import { createRollups } from './monitoring/rollups.js';
import { createPrometheusExporter } from './monitoring/prometheus.js';
import { createMetricsService } from './services/metrics.js';
import { createLogService } from './services/logs.js';
import { CONFIG_DEFAULTS, readEnvironmentLayer } from './domain/agent-config.js';
import { DatabaseUnavailable } from './errors.js';
import { CURRENT_API_VERSION } from './http/versioning.js';
import { AMS_VERSION } from './version.js';
import { type AmsSecrets, type AmsSettings, SettingsError } from './settings.js';
import { createSecurity, type Security } from './security/index.js';
import { loadSigningKey } from './security/secrets.js';
import { createAlertService } from './alerts/service.js';
import { createChannelService } from './alerts/channel-service.js';
import { createSecretBox } from './alerts/channels.js';
import { takeAlertEnvironment } from './alerts/environment.js';
import { policyChannelsFrom } from './alerts/policy.js';
import { createLiveStream } from './live/stream.js';
import { createStatusService } from './services/status.js';
import { createSupervisor } from './supervisor/supervisor.js';
import { createLifecycleService } from './services/lifecycle.js';
import { createRecoveryService } from './services/recovery.js';
import { createStartupPhases } from './startup-phases.js';

export interface RunningAms {
  url: string;
  port: number;
  db: Database;
  services: Services;
  security: Security;
  broker: Broker;
  /** Stops accepting requests, finishes in-flight ones, closes the database, releases the lock. */
  close(): Promise<void>;
}

export interface StartAmsOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** OPMAS_ADMIN_PASSWORD, OPMAS_HOST_SECRET, OPMAS_JWT_SECRET (see settings.takeSecrets). */
  secrets?: AmsSecrets;
  /** Where the one-time setup token is shown; stderr by default. */
  announce?: (line: string) => void;
  /** Milliseconds to wait for in-flight requests on close before cutting connections. */
  drainTimeoutMs?: number;
}

export async function startAms(settings: AmsSettings, opts: StartAmsOptions): Promise<RunningAms> {
  const { logger } = opts;
  const env = opts.env ?? process.env;
  const secrets = opts.secrets ?? {};
  const startup = createStartupPhases();
  checkTransportSecurity(settings, logger);
  fs.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(settings.dataDir);
  const cleanup: Array<() => Promise<void> | void> = [() => lock.release()];
  // nats-server starts while the database opens and migrates: neither needs the other.
  const brokerStarting = startup.time('broker', () => startBroker({ dataDir: settings.dataDir, logger, env, resourcesDir: settings.resourcesDir }));
  let brokerOwned = false;
  try {
    const db = await startup.time('database_open', () => openDatabase({ dbUrl: settings.dbUrl, dataDir: settings.dataDir, logger, pgliteTemplate: settings.pgliteTemplate }));
    cleanup.unshift(() => db.close());
    startup.note('database', db.origin);
    const schema = startMigrations(db, logger);
    cleanup.unshift(() => schema.stop());
    await startup.time('migrations', () => schema.first);

    const environment = readEnvironmentLayer(env);
    for (const problem of environment.problems) logger.warn(problem);
    const alertEnvironment = takeAlertEnvironment(env);
    for (const problem of alertEnvironment.problems) logger.warn(problem);
    const signingKey = loadSigningKey(settings.dataDir, secrets.jwtSecret);
    const security = createSecurity({
      db,
      logger,
      sessions: {
        signingKey,
        accessTtlS: settings.accessTokenTtlS,
        refreshTtlS: settings.refreshTokenTtlS,
        adminPassword: secrets.adminPassword,
        hostSecret: secrets.hostSecret,
      },
      limits: { loginPerMinute: settings.loginRateLimitPerMinute, apiPerMinute: settings.rateLimitPerMinute },
      corsOrigins: settings.corsOrigins,
      announce: opts.announce ?? ((line) => process.stderr.write(`${line}\n`)),
    });
    const broker = await brokerStarting;
    brokerOwned = true;
    cleanup.unshift(() => broker.stop());
    const credentials = createCredentialsService({ db, logger, broker: () => broker });
    const agents = createAgentService({ db });
    agents.hooks.beforeRemove.push((id) => credentials.revokeAll(id, 'agent deleted').then(() => undefined));
    agents.hooks.afterDisable.push((id) => credentials.revokeAll(id, 'agent disabled').then(() => undefined));
    const registration = createRegistrationService({ db, agents, issuer: credentials.issuer });
    const events = createEventBus();
    const configDefaults = () => ({ ...CONFIG_DEFAULTS, ...(broker.url ? { nats_url: broker.url } : {}) });
    const config = createConfigService({ db, defaults: configDefaults, environment: environment.layer });
    const sampler = createSampler({
      db,
      events,
      logger,
      // The supervisor's live processes (it is created below, before anything is sampled).
      listProcesses: () => supervisor.processes(),
      intervalS: async () => {
        const fleet = (await config.fleet()).config;
        const value = fleet.metrics_interval ?? environment.layer.metrics_interval;
        return typeof value === 'number' ? value : DEFAULT_METRICS_INTERVAL_S;
      },
      // An agent deleted meanwhile has no config: it gets the defaults (its samples are dropped anyway).
      thresholds: async (ids) =>
        new Map(await Promise.all(ids.map(async (id) => [id, warningThresholds(await config.effective(id).then((e) => e.config.thresholds, () => undefined))] as const))),
      latestPing: (id) => supervisor.latestPing(id),
    });
    const metricKinds = createMetricKinds({ db, logger });
    // Agents may report network counters the OS cannot give per process (see sampler.ts); the
    // supervisor's health monitor hears every heartbeat and agent metric too.
    const ingest = createIngest({
      db,
      logger,
      listeners: {
        heartbeat: (id, body, at) => {
          if (body.metrics) sampler.noteReported(id, body.metrics);
          supervisor.listeners.heartbeat(id, body, at);
        },
        metrics: (id, body) => {
          sampler.noteReported(id, body);
          supervisor.listeners.metrics(id, body);
          void metricKinds.note(id, body.meta);
        },
        // Log lines agents send over NATS reach the live stream too (the console's follow mode);
        // lines from stdout/stderr are published by the supervisor's capture.
        log: (id, body) =>
          void events.publish({ type: 'log.line', agent_id: id, level: body.level, message: body.message, timestamp: new Date(body.timestamp).toISOString(), source: 'nats', context: body.context ?? null }),
      },
    });
    cleanup.unshift(() => ingest.stop());
    const retention = createRetention({ db, logger, settings });
    const rollups = createRollups({ db, logger, rawRetentionDays: settings.metricsRetentionDays });
    const scanner = createScanner({
      db,
      agentsDir: settings.agentsDir,
      agents,
      audit: security.audit,
      logger,
      onEvent: (e) =>
        events.publish(
          e.type === 'package.scan.completed'
            ? { type: e.type, details: { ...e.scan } }
            : { type: e.type, agent_id: e.agent_id, path: e.path, details: { reasons: e.reasons } },
        ),
    });
    cleanup.unshift(() => scanner.stop());
    const status = createStatusService({ db, events });
    const supervisor = createSupervisor({ db, logger, events, status, config, credentials, agents, scanner, broker, dataDir: settings.dataDir, env });
    // Stop the process before its credentials are revoked, so that it ends as asked rather than cut off.
    agents.hooks.beforeRemove.unshift((id) => supervisor.beforeRemove(id));
    agents.hooks.afterDisable.unshift((id) => supervisor.afterDisable(id));
    // Runs before the broker stops: agents are asked to stop over it.
    cleanup.unshift(() => supervisor.stop());
    // Agents' messages flow once everything that listens to them exists.
    broker.consume(ingest.handlers);
    const notificationChannels = createChannelService({ db, box: createSecretBox(signingKey), environment: alertEnvironment });
    const alerts = createAlertService({
      db,
      events,
      logger,
      channels: notificationChannels,
      crashLoop: alertEnvironment.crashLoop,
      policyChannels: policyChannelsFrom((id) => supervisor.policies.policyOf(id)),
      agentInfo: (id) => agents.get(id).then((a) => ({ name: a.agent_name, status: a.status }), () => undefined),
    });
    cleanup.unshift(() => alerts.stop());
    agents.hooks.beforeRemove.push((id) => alerts.resolveForAgent(id, 'agent deleted'));
    const services: Services = {
      agents,
      registration,
      scanner,
      credentials,
      ingest,
      events,
      config,
      alerts,
      notificationChannels,
      metrics: createMetricsService({ db }),
      logs: createLogService({ db }),
      sampler,
      retention,
      rollups,
      prometheus: createPrometheusExporter({ db, events, ingestStats: ingest.stats, brokerHealth: () => broker.health(), sampler }),
      status,
      supervisor,
      lifecycle: createLifecycleService({ db, config, supervisor, broker: () => broker.health() }),
      recovery: createRecoveryService({ db, supervisor, status }),
      health: createHealthService({
        version: AMS_VERSION,
        apiVersion: CURRENT_API_VERSION,
        startedAt: Date.now(),
        critical: ['database'],
        checks: {
          ams: async () => ({ status: 'ok', latency_ms: 0, pid: process.pid, version: AMS_VERSION, startup: startup.view() }),
          database: async () => {
            const latency = await db.ping();
            if (!schema.ready()) return { status: 'down', latency_ms: latency, kind: db.kind, error: 'schema migrations have not completed' };
            return { status: 'ok', latency_ms: latency, kind: db.kind };
          },
          broker: () => broker.health(),
          ingest: async () => {
            const st = ingest.stats();
            return { status: 'ok', latency_ms: Math.round(st.lastFlushMs * 100) / 100, heartbeats: st.heartbeats, metric_rows: st.metricRows, log_rows: st.logRows, flushes: st.flushes };
          },
          supervisor: async () => supervisor.health(),
        },
      }),
    };
    // Work that needs the schema runs now, or as soon as the database is reachable.
    const whenSchemaReady = async (step: () => Promise<void>) => (schema.ready() ? step() : schema.onReady(step));
    await startup.time('sessions', () => whenSchemaReady(() => security.sessions.init()));
    await startup.time('first_scan', () => whenSchemaReady(() => scanner.start()));
    await startup.time('supervisor', () => whenSchemaReady(() => supervisor.start()));
    await whenSchemaReady(async () => alerts.start());
    await whenSchemaReady(async () => {
      await sampler.start();
      retention.start();
      rollups.start();
    });
    cleanup.unshift(() => retention.stop(), () => rollups.stop(), () => sampler.stop());

    const { app } = createApp({ logger, services, security, version: AMS_VERSION, staticDir: settings.staticDir, gates: [schema.gate] });

    const tls = settings.tlsCert && settings.tlsKey ? { cert: fs.readFileSync(settings.tlsCert), key: fs.readFileSync(settings.tlsKey) } : undefined;
    const server = tls ? https.createServer(tls, app.callback()) : http.createServer(app.callback());
    server.keepAliveTimeout = 5000;
    const live = createLiveStream({ events, sessions: security.sessions, logger, corsOrigins: settings.corsOrigins });
    live.attach(server, { secure: Boolean(tls) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `${tls ? 'https' : 'http'}://${connectableHost(settings.host)}:${port}`;
    startup.ready();
    logger.info({ url, dataDir: settings.dataDir, database: db.kind, startup: startup.view() }, 'AMS listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      db,
      services,
      security,
      broker,
      close: () =>
        (closing ??= (async () => {
          await live.close();
          await closeServer(server, opts.drainTimeoutMs ?? 8000);
          await runCleanup(cleanup, logger);
        })()),
    };
  } catch (err) {
    await runCleanup(cleanup, logger);
    if (!brokerOwned) await brokerStarting.then((b) => b.stop(), () => undefined);
    throw err;
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** A non-loopback address without TLS is refused unless --insecure is given, and then warned about. */
function checkTransportSecurity(settings: AmsSettings, logger: Logger): void {
  if (settings.tlsCert || LOOPBACK.test(settings.host)) return;
  if (!settings.insecure) {
    throw new SettingsError(
      `refusing to serve ${settings.host} without TLS: give --tls-cert and --tls-key, or --insecure to accept plain HTTP on a network address`,
    );
  }
  logger.warn({ host: settings.host }, 'serving plain HTTP on a non-loopback address (--insecure): tokens and passwords cross the network unencrypted');
}

/** Runs migrations now, or keeps retrying while the database is unreachable; requests get 503 until done. */
function startMigrations(db: Database, logger: Logger) {
  let ready = false;
  const readyHandlers: Array<() => Promise<void>> = [];
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const attempt = async (): Promise<void> => {
    try {
      const applied = await migrateLatest(db.knex);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
      for (const handler of readyHandlers) await handler();
      ready = true;
    } catch (err) {
      const unavailable = asDatabaseUnavailable(err);
      if (!unavailable) throw err;
      logger.warn({ reason: unavailable.message }, 'database unreachable; migrations will be retried');
      if (!stopped) timer = setTimeout(() => (running = attempt()), 2000);
    }
  };
  return {
    first: (running = attempt()),
    ready: () => ready,
    onReady: (handler: () => Promise<void>) => readyHandlers.push(handler),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
    async gate(ctx: Context, next: Next) {
      if (!ready && ctx.path.startsWith('/api/') && !ctx.path.endsWith('/health') && !ctx.path.endsWith('/openapi.json')) {
        throw new DatabaseUnavailable('the database schema is not ready yet');
      }
      await next();
    },
  };
}

function connectableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function closeServer(server: http.Server, drainTimeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Keep-alive sockets with no request in flight would hold close() open.
    server.closeIdleConnections();
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    server.once('close', () => clearInterval(idle));
  });
}

async function runCleanup(steps: Array<() => Promise<void> | void>, logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      logger.warn({ err }, 'shutdown step failed');
    }
  }
}
