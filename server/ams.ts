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
import { type AgentsDirectoryReport, prepareAgentsDirectory } from './agents-directory.js';
import { asDatabaseUnavailable, type Database, openDatabase } from './db/database.js';
import { migrateLatest } from './db/migrate.js';
import { createApp, type Services } from './app.js';
import { createAgentService } from './services/agents.js';
import { createConfigService } from './services/config.js';
import { createHealthService } from './services/health.js';
import { createRegistrationService } from './services/registration.js';
import { type Broker, startBroker } from './broker/index.js';
import { createCredentialsService } from './services/credentials.js';
import { createIngest } from './monitoring/ingest.js';
import { createEventBus } from './events/bus.js';
import { createEventStream } from './events/event-stream.js';
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
import { parseTrustedProxies } from './security/client-address.js';
import { createAlertService } from './alerts/service.js';
import { createStateCountsService } from './services/state-counts.js';
import { createChannelService } from './alerts/channel-service.js';
import { createSecretBox } from './alerts/channels.js';
import { takeAlertEnvironment } from './alerts/environment.js';
import { policyChannelsFrom } from './alerts/policy.js';
import { createLiveStream } from './live/stream.js';
import { createStatusService } from './services/status.js';
import { createLifecycleService } from './services/lifecycle.js';
import { createRecoveryService, loadPolicy } from './services/recovery.js';
import { createPackageService } from './services/packages.js';
import { createHostService } from './services/hosts.js';
import { createAgentSpecs } from './control/agent-specs.js';
import { createHostRequests } from './control/host-requests.js';
import { createObservationApplier } from './control/observation-applier.js';
import { createHostMonitor } from './control/host-monitor.js';
import { createExternalHealth } from './control/external-health.js';
import { createHostSupervisor, type HostSupervisor } from './supervisor/host-supervisor.js';
import { openLeaseBuckets } from './supervisor/host-lease.js';
import { createBrokerConnection } from './broker/connection.js';
import { ensureClusterResources } from './broker/jetstream.js';
import { subjects } from './broker/subjects.js';
import { desiredStateRepo } from './db/desired-state.repo.js';
import { packagesRepo } from './db/packages.repo.js';
import { agentStatusRepo } from './db/agent-status.repo.js';
import { resolveHostId } from './host-id.js';
import { isLive, type ProcessState } from './domain/state-machine.js';
import { createStartupPhases } from './startup-phases.js';

export interface RunningAms {
  url: string;
  port: number;
  db: Database;
  services: Services;
  security: Security;
  broker: Broker;
  /** Role all: this host's supervisor (in this process, reached over NATS like any other). */
  supervisor?: HostSupervisor;
  hostId?: string;
  /** The agents directory, and the sample agents this start copied into it. */
  agentsDirectory: AgentsDirectoryReport;
  /** Stops accepting requests, finishes in-flight ones, stops the supervisor, closes the database, releases the lock. */
  close(): Promise<void>;
}

export interface StartAmsOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** OPMAS_ADMIN_PASSWORD, OPMAS_HOST_SECRET, OPMAS_JWT_SECRET (see settings.takeSecrets). */
  secrets?: AmsSecrets;
  /** Where the one-time setup token is shown (the line, and the token alone for a formatted display); stderr by default. */
  announce?: (line: string, facts?: { setupToken?: string }) => void;
  /** Milliseconds to wait for in-flight requests on close before cutting connections. */
  drainTimeoutMs?: number;
}

/** Events kept by every replica for a client that reconnects with its last event id. */
const EVENT_REPLAY = 10_000;
/** Queue group of ingest: with several API replicas each agent message is written once. */
const INGEST_QUEUE = 'opmas-ingest';
/** How long role all waits at start for its host's first scan to be registered. */
const FIRST_SCAN_WAIT_MS = 20_000;
/** How long deleting an agent waits for its host to stop the process (before its credentials are revoked). */
const STOP_BEFORE_REMOVE_MS = 15_000;

/** The API and control plane (role api), with this host's supervisor in the same process (role all). */
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
  // Handled where it is awaited (or stopped on a failed start); not an unhandled rejection meanwhile.
  brokerStarting.catch(() => undefined);
  let brokerOwned = false;
  try {
    // Role api runs no agents: the agents directories are the supervisors' hosts'.
    const agentsDirectory: AgentsDirectoryReport =
      settings.role === 'all' ? prepareAgentsDirectory(settings.agentsDir, settings.sampleAgentsDir) : { path: settings.agentsDir, created: false, samplesCopied: [] };
    const localHostId = settings.role === 'all' ? resolveHostId(settings.dataDir, settings.hostId) : undefined;
    if (agentsDirectory.samplesCopied.length > 0) logger.info({ agentsDir: agentsDirectory.path, samples: agentsDirectory.samplesCopied }, 'sample agents copied into the new agents directory');
    if (agentsDirectory.samplesError) logger.warn({ agentsDir: agentsDirectory.path, from: agentsDirectory.samplesFrom, err: agentsDirectory.samplesError }, 'could not copy the sample agents; the agents directory starts empty');
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
      limits: {
        loginPerMinute: settings.loginRateLimitPerMinute,
        apiPerMinute: settings.rateLimitPerMinute,
        authFailuresPerMinute: settings.authFailureRateLimitPerMinute,
        healthPerMinute: settings.healthRateLimitPerMinute,
      },
      trustedProxies: parseTrustedProxies(settings.trustProxy.join(',')),
      corsOrigins: settings.corsOrigins,
      announce: opts.announce ?? ((line) => process.stderr.write(`${line}\n`)),
    });
    const broker = await brokerStarting;
    brokerOwned = true;
    cleanup.unshift(() => broker.stop());
    const leaseTtlMs = settings.leaseTtlS * 1000;
    const ensureJetStream = () => {
      const nc = broker.connection.raw();
      if (nc) void ensureClusterResources(nc, leaseTtlMs).catch((err) => logger.warn({ err: (err as Error).message }, 'JetStream resources not ready yet'));
    };
    ensureJetStream();
    const offJetStream = broker.connection.onConnected(ensureJetStream);
    cleanup.unshift(offJetStream);

    const credentials = createCredentialsService({ db, logger, broker: () => broker });
    const agents = createAgentService({ db });
    const registration = createRegistrationService({ db, agents, issuer: credentials.issuer });
    const events = createEventBus({ capacity: EVENT_REPLAY });
    // Live events go through the cluster's event stream: recorded with their change, the same ids on every replica.
    const eventStream = createEventStream({ db, logger, connection: broker.connection, bus: events, capacity: EVENT_REPLAY });
    events.setRecorder(eventStream);
    cleanup.unshift(() => eventStream.stop());
    // Each audit row on the live stream (audit:read), for the console's live audit log.
    security.audit.onAppend((entry) => void events.publish({ type: 'audit.appended', agent_id: null, entry: { ...entry } }));
    const configDefaults = () => ({ ...CONFIG_DEFAULTS, ...(broker.url ? { nats_url: broker.url } : {}) });
    const config = createConfigService({ db, defaults: configDefaults, environment: environment.layer });
    const status = createStatusService({ db, events });
    const specs = createAgentSpecs({
      db, config, connection: broker.connection, logger,
      async settings() {
        const fleet = (await config.fleet()).config;
        const mi = fleet.metrics_interval ?? environment.layer.metrics_interval;
        const ri = fleet.reconcile_interval;
        return { metrics_interval: typeof mi === 'number' ? mi : null, reconcile_interval: typeof ri === 'number' ? ri : null };
      },
    });
    cleanup.unshift(() => specs.stop());
    const push = (ids: string[]) => specs.push(ids);
    const hosts = createHostService({ db });
    const packages = createPackageService({ db, agents, config, audit: security.audit, events, logger, connection: broker.connection, liveHosts: () => hosts.reachable(),
      local: localHostId ? { hostId: localHostId, agentsDir: settings.agentsDir } : undefined, defaultAgentsDir: settings.agentsDir });
    // The supervisor of this host, when this process has one (role all): set below.
    let supervisor: HostSupervisor | undefined;
    const lifecycle = createLifecycleService({ db, config, status, connection: broker.connection, logger, broker: () => broker.health(), push, localSupervisor: () => supervisor?.health() });
    const recovery = createRecoveryService({ db, status, lifecycle, push });
    const hostRequests = createHostRequests({
      db, connection: broker.connection, logger, credentials, config, status,
      epochs: async () => (await openLeaseBuckets(broker.connection.raw()!, leaseTtlMs)).epochs,
      onConfigWritten: (id) => void push([id]),
    });
    cleanup.unshift(() => hostRequests.stop());
    const applier = createObservationApplier({ db, logger, events, connection: broker.connection, packages, credentials, push });
    cleanup.unshift(() => applier.stop());
    const hostMonitor = createHostMonitor({ db, logger, connection: broker.connection, events, leaseTtlMs });
    cleanup.unshift(() => hostMonitor.stop());

    /** Agents that run on their own (registered through the API, no host) are judged here from their heartbeats. */
    const externalHealth = createExternalHealth({ db, status, logger, config, consume: (handlers) => broker.consume(handlers, { counted: false }) });
    cleanup.unshift(() => externalHealth.stop());
    // Metric kinds and units agents declare in their metrics messages.
    const metricKinds = createMetricKinds({ db, logger });
    const ingest = createIngest({
      db,
      logger,
      reportedStatus: (entries) => status.recordReported(entries),
      listeners: {
        metrics: (id, body) => void metricKinds.note(id, body.meta),
        // Log lines agents send over NATS reach the live stream too (the console's follow mode);
        // lines from stdout/stderr come through the hosts' observations.
        log: (id, body) =>
          void events.publish({ type: 'log.line', agent_id: id, level: body.level, message: body.message, timestamp: new Date(body.timestamp).toISOString(), source: 'nats', context: body.context ?? null }),
      },
    });
    cleanup.unshift(() => ingest.stop());
    const retention = createRetention({ db, logger, settings });
    const rollups = createRollups({ db, logger, rawRetentionDays: settings.metricsRetentionDays });

    /** The host stops the agent's process before it is deleted, so it ends as asked rather than cut off by the revocation. */
    async function stopOnHost(agentId: string, why: 'deleted' | 'disabled'): Promise<void> {
      const row = await agentStatusRepo(db.knex).get(agentId);
      const hostId = await desiredStateRepo(db.knex).hostOf(agentId);
      if (!row || !hostId || !isLive(row.process_status as ProcessState)) return;
      await desiredStateRepo(db.knex).set(agentId, { desired_state: 'stopped' });
      if (why === 'deleted') specs.removed(hostId, agentId);
      else await push([agentId]);
      const until = Date.now() + STOP_BEFORE_REMOVE_MS;
      while (Date.now() < until) {
        const now = await agentStatusRepo(db.knex).get(agentId);
        if (!now || !isLive(now.process_status as ProcessState)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      logger.warn({ agentId, hostId }, 'the host did not stop the agent in time; its credentials are revoked anyway');
    }
    agents.hooks.beforeRemove.push(async (id) => {
      await stopOnHost(id, 'deleted');
      await credentials.revokeAll(id, 'agent deleted');
    });
    agents.hooks.afterDisable.push(async (id) => {
      await push([id]);
      await stopOnHost(id, 'disabled');
      await credentials.revokeAll(id, 'agent disabled');
    });
    agents.hooks.afterEnable.push((id) => push([id]));
    // The host learns of the deletion (its spec is gone); a deleted agent's package stays registered until the next scan.
    agents.hooks.beforeRemove.push(async (id) => {
      const hostId = await desiredStateRepo(db.knex).hostOf(id);
      if (hostId) specs.removed(hostId, id);
    });

    broker.consume(ingest.handlers, { queue: INGEST_QUEUE });
    const notificationChannels = createChannelService({ db, box: createSecretBox(signingKey), environment: alertEnvironment });
    const alerts = createAlertService({
      db,
      events,
      logger,
      connection: broker.connection,
      channels: notificationChannels,
      crashLoop: alertEnvironment.crashLoop,
      policyChannels: policyChannelsFrom(async (id) => (await loadPolicy(db, id)).policy),
      agentInfo: (id) => agents.get(id).then((a) => ({ name: a.agent_name, status: a.status }), () => undefined),
    });
    cleanup.unshift(() => alerts.stop());
    agents.hooks.beforeRemove.push((id) => alerts.resolveForAgent(id, 'agent deleted'));
    const services: Services = {
      agents,
      registration,
      packages,
      hosts,
      credentials,
      ingest,
      events,
      config,
      alerts,
      notificationChannels,
      metrics: createMetricsService({ db }),
      stateCounts: createStateCountsService({ db }),
      logs: createLogService({ db }),
      retention,
      rollups,
      prometheus: createPrometheusExporter({ db, events, ingestStats: ingest.stats, brokerHealth: () => broker.health(), sampler: () => supervisor?.samplerStats() }),
      status,
      lifecycle,
      recovery,
      configChanges: {
        applyConfig: (id) => lifecycle.applyConfig(id),
        async changed(ids) {
          if (ids === 'all') {
            for (const hostId of await hosts.reachable()) {
              try {
                broker.connection.publish(subjects.host(hostId).specs, { agents: [], removed: [], resync: true });
              } catch {
                // the host's periodic sync brings it
              }
            }
            return;
          }
          // A new configuration is a reason to try an agent whose recovery was spent again.
          await desiredStateRepo(db.knex).release(ids);
          await push(ids);
        },
      },
      health: createHealthService({
        version: AMS_VERSION,
        apiVersion: CURRENT_API_VERSION,
        startedAt: Date.now(),
        critical: ['database'],
        checks: {
          ams: async () => ({ status: 'ok', latency_ms: 0, pid: process.pid, version: AMS_VERSION, role: settings.role, startup: startup.view() }),
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
          supervisor: async () => {
            if (supervisor) return supervisor.health();
            const list = (await hosts.list()).items;
            const up = list.filter((h) => h.status === 'up').length;
            return { status: list.length === 0 || up > 0 ? 'ok' : 'degraded', latency_ms: 0, hosts: list.length, hosts_up: up };
          },
          events: async () => {
            const st = eventStream.stats();
            return { status: st.last_error && st.publishing ? 'degraded' : 'ok', latency_ms: 0, ...st };
          },
          observations: async () => {
            const st = applier.stats();
            return { status: st.holding || db.kind === 'postgres' ? 'ok' : 'degraded', latency_ms: 0, ...st };
          },
        },
      }),
    };
    // Work that needs the schema runs now, or as soon as the database is reachable.
    const whenSchemaReady = async (step: () => Promise<void>) => (schema.ready() ? step() : schema.onReady(step));
    await startup.time('sessions', () => whenSchemaReady(() => security.sessions.init()));
    eventStream.start();
    specs.listen();
    hostRequests.listen();
    applier.start();
    hostMonitor.start();
    security.limits.start();
    cleanup.unshift(() => security.limits.stop());
    await whenSchemaReady(async () => alerts.start());
    await whenSchemaReady(async () => credentials.start());
    cleanup.unshift(() => credentials.stop());
    const offRevocations = broker.connection.onConnected(() => void whenSchemaReady(() => credentials.pushIfPending()));
    cleanup.unshift(offRevocations);
    await whenSchemaReady(async () => {
      retention.start();
      rollups.start();
      externalHealth.start();
    });
    cleanup.unshift(() => retention.stop(), () => rollups.stop());

    const { app } = createApp({ logger, services, security, version: AMS_VERSION, staticDir: settings.staticDir, gates: [schema.gate] });

    const tls = settings.tlsCert && settings.tlsKey ? { cert: fs.readFileSync(settings.tlsCert), key: fs.readFileSync(settings.tlsKey) } : undefined;
    const server = tls ? https.createServer(tls, app.callback()) : http.createServer(app.callback());
    server.keepAliveTimeout = 5000;
    const live = createLiveStream({ events, sessions: security.sessions, logger, corsOrigins: settings.corsOrigins, streamHead: () => eventStream.head() });
    live.attach(server, { secure: Boolean(tls) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(settings.port, settings.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `${tls ? 'https' : 'http'}://${connectableHost(settings.host)}:${port}`;
    logger.info({ url, dataDir: settings.dataDir, database: db.kind, role: settings.role }, 'AMS listening');

    let hostId: string | undefined;
    let stopSupervisor: (() => Promise<void>) | undefined;
    if (settings.role === 'all') {
      hostId = localHostId!;
      const id = hostId;
      // Agents found before hosts existed belong to this host.
      await whenSchemaReady(async () => {
        await packagesRepo(db.knex).claimUnassigned(id);
      });
      const supCreds = await broker.issuer.issueSupervisor(id);
      const connection = createBrokerConnection({
        servers: () => broker.servers(),
        creds: () => supCreds.creds,
        tls: broker.tls,
        logger: logger.child({ component: 'supervisor' }),
        name: `opmas-supervisor-${id}`,
        inboxPrefix: subjects.host(id).inboxPrefix,
      });
      connection.start();
      supervisor = createHostSupervisor({
        hostId: id,
        dataDir: settings.dataDir,
        agentsDir: settings.agentsDir,
        env,
        logger: logger.child({ component: 'supervisor' }),
        version: AMS_VERSION,
        connection,
        natsUrl: () => broker.url,
        leaseTtlMs,
        leaseRenewMs: Math.max(100, leaseTtlMs / 3),
        reconcileIntervalMs: settings.reconcileIntervalS * 1000,
        onFenced: () => logger.error({ hostId: id }, 'this AMS lost its host to another supervisor; it runs no agents any more'),
      });
      const sup = supervisor;
      stopSupervisor = async () => {
        await sup.stop();
        await connection.close();
      };
      const registered = new Promise<void>((resolve) => {
        // Scans completed so far (the first may be applied before start() answers its id).
        const completed = new Set<string>();
        let wanted: string | undefined;
        const off = events.subscribe((e) => {
          if (e.type !== 'package.scan.completed') return;
          const id = (e.details as { id?: string } | undefined)?.id;
          if (!id) return;
          completed.add(id);
          if (id === wanted) {
            off();
            resolve();
          }
        });
        void startup.time('supervisor', () => sup.start()).then(
          ({ firstScanId }) => {
            wanted = firstScanId;
            if (completed.has(firstScanId)) {
              off();
              resolve();
            }
          },
          (err) => {
            off();
            resolve();
            logger.error({ err: (err as Error).message }, 'the supervisor of this host did not start');
          },
        );
      });
      // Tests and the desktop app see the agents of the agents directory registered when this returns.
      const waited = await startup.time('first_scan', () =>
        Promise.race([registered.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), FIRST_SCAN_WAIT_MS).unref())]),
      );
      if (!waited) logger.warn('the first scan of the agents directory is not registered yet; it will be when the database and broker allow');
    }

    startup.ready();
    logger.info({ startup: startup.view() }, 'AMS started');

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      db,
      services,
      security,
      broker,
      supervisor,
      hostId,
      agentsDirectory,
      close: () =>
        (closing ??= (async () => {
          await live.close();
          await closeServer(server, opts.drainTimeoutMs ?? 8000);
          // The supervisor stops its agents and publishes what it observed while the control plane still applies it.
          await stopSupervisor?.().catch((err) => logger.warn({ err: (err as Error).message }, 'stopping the supervisor failed'));
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
      if (applied.length > 0) logger.info({ migrations: applied.length, latest: applied.at(-1) }, 'database migrated');
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
