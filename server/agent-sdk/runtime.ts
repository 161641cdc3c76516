// The agent side of the protocol: connect with the agent's credentials, heartbeat every
// `heartbeat_interval` seconds, publish status/metrics/logs, answer control requests
// (ping, config.update, reload, stop), and stop gracefully on SIGTERM. Reconnection after a
// broker restart is the client's; this module re-announces the agent when it is back.
import { connect, credsAuthenticator, errors as natsErrors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { LOG_LEVELS, validateConfigLayer } from '../domain/agent-config.js';
import { ControlRequest, MetricsMeta, type AgentReportedStatus, type ControlReply } from '../broker/protocol.js';
import { subjects } from '../broker/subjects.js';
import { type AgentConfig, type AgentEnvironment, readAgentEnvironment } from './environment.js';

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AgentRuntimeOptions {
  /** Where to read OPMAS_* from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Already-read environment; wins over `env`. */
  environment?: AgentEnvironment;
  /** Topics to subscribe to when the config has no `subscribed_topics` (comma-separated). */
  defaultTopics?: string[];
  /** Findings topic when the config has no `findings_topic`. */
  defaultFindingsTopic?: string;
  /** The agent's own check of a new effective config: an error message rejects it. */
  validateConfig?(config: AgentConfig): string | undefined | Promise<string | undefined>;
  /** Called once a config update is accepted; the new config is already current. */
  onConfig?(config: AgentConfig, previous: AgentConfig): void | Promise<void>;
  /** The `reload` action: re-initialise what the agent holds (rules, files, subscriptions). */
  onReload?(): void | Promise<void>;
  /** Before the final `stopping` status: finish or abandon work, close resources. */
  onStop?(reason: string): void | Promise<void>;
  /** Stop gracefully on SIGTERM and SIGINT (default true). */
  handleSignals?: boolean;
  /** Send heartbeats on the configured interval (default true); heartbeat() sends one by hand. */
  autoHeartbeat?: boolean;
  /** Numbers of the agent's own, added to every heartbeat's and metrics message's counters. */
  extraMetrics?(): Record<string, number>;
  /**
   * What the agent's own numbers are, declared once: `{findings: {kind: 'counter', unit:
   * 'findings'}, queue_depth: {kind: 'gauge'}}`. Sent as `meta` with every metrics message; the
   * AMS charts counters (cumulative numbers) as per-second rates. Undeclared numbers are gauges.
   */
  metricsMeta?: MetricsMeta;
  /** How the process ends (default process.exit); tests pass their own. */
  exit?(code: number): void;
  /** Where local diagnostics go (default: one JSON line on stderr). */
  writeLine?(line: string): void;
}

export interface EventRecord {
  failed?: boolean;
  /** Milliseconds spent on the event. */
  ms?: number;
}

export type TopicHandler = (body: unknown, subject: string, raw: Msg) => void | Promise<void>;

const DEFAULT_HEARTBEAT_S = 30;
const DRAIN_TIMEOUT_MS = 3000;
/**
 * How long the broker must keep refusing the agent's credentials before it counts as "for
 * good". A nats-server configuration reload (every revocation in host mode) refuses clients
 * that reconnect at that very moment; that must not end a healthy agent.
 */
const AUTH_REFUSED_EXIT_MS = 3000;
const CONNECT_TIMEOUT_MS = 3000;
const levelRank = (l: string) => Math.max(0, (LOG_LEVELS as readonly string[]).indexOf(l));

export type AgentRuntime = ReturnType<typeof createAgentRuntime>;

export function createAgentRuntime(options: AgentRuntimeOptions = {}) {
  const environment = options.environment ?? readAgentEnvironment(options.env ?? process.env);
  const { agentId } = environment;
  const own = subjects.agent(agentId);
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const writeLine = options.writeLine ?? ((line: string) => process.stderr.write(`${line}\n`));
  const startedAt = Date.now();
  const autoHeartbeat = options.autoHeartbeat !== false;
  const meta = checkedMeta(options.metricsMeta);

  let config: AgentConfig = { ...environment.config };
  let configVersion = 0;
  let status: AgentReportedStatus = 'ready';
  let nc: NatsConnection | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let connected = false;
  const counters = { events_processed: 0, events_failed: 0, processing_ms: 0 };
  const topicHandlers: Array<{ handler: TopicHandler; subs: Subscription[] }> = [];
  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  const encode = (body: unknown) => JSON.stringify(body);
  const local = (level: string, message: string, extra: Record<string, unknown> = {}) =>
    writeLine(JSON.stringify({ time: new Date().toISOString(), level, agent_id: agentId, message, ...extra }));

  function metrics(): Record<string, number> {
    const extra: Record<string, number> = {};
    try {
      // Only finite numbers: anything else would make the AMS drop the whole heartbeat.
      for (const [k, v] of Object.entries(options.extraMetrics?.() ?? {})) if (typeof v === 'number' && Number.isFinite(v)) extra[k] = v;
    } catch (err) {
      local('WARNING', 'extraMetrics failed', { reason: (err as Error).message });
    }
    return { ...extra, ...counters };
  }

  /** A metrics message: the numbers, and the declaration of what they are. */
  function metricsMessage(extra: Record<string, number> = {}): Record<string, unknown> {
    return { ...extra, ...metrics(), ...(meta ? { meta } : {}) };
  }

  function heartbeatSeconds(): number {
    const v = config.heartbeat_interval;
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : DEFAULT_HEARTBEAT_S;
  }

  /**
   * Heartbeats and metrics are about now, so they are skipped while disconnected; everything else
   * (findings, logs, status) is buffered by the client and sent after the reconnection.
   */
  function publish(subject: string, body: unknown): void {
    if (!nc || nc.isClosed()) return;
    if (!connected && (subject === own.heartbeat || subject === own.metrics)) return;
    try {
      nc.publish(subject, encode(body));
    } catch (err) {
      local('WARNING', 'publish failed', { subject, reason: (err as Error).message });
    }
  }

  function heartbeat(): void {
    publish(own.heartbeat, {
      agent_id: agentId,
      status,
      timestamp: new Date().toISOString(),
      uptime: Math.round((Date.now() - startedAt) / 10) / 100,
      metrics: metrics(),
    });
  }

  function scheduleHeartbeats(): void {
    clearTimeout(heartbeatTimer);
    if (!autoHeartbeat || stopping) return;
    heartbeatTimer = setTimeout(() => {
      heartbeat();
      if (config.metrics_enabled !== false) publish(own.metrics, metricsMessage());
      scheduleHeartbeats();
    }, heartbeatSeconds() * 1000);
  }

  function topics(): string[] {
    const fromConfig = config.subscribed_topics;
    if (typeof fromConfig === 'string' && fromConfig.trim()) return fromConfig.split(',').map((t) => t.trim()).filter(Boolean);
    return options.defaultTopics ?? [];
  }

  function subscribeTopics(entry: { handler: TopicHandler; subs: Subscription[] }): void {
    if (!nc) return;
    for (const s of entry.subs.splice(0)) s.unsubscribe();
    for (const topic of topics()) {
      entry.subs.push(
        nc.subscribe(topic, {
          callback: (err, msg) => {
            if (err) return local('ERROR', 'subscription failed', { topic, reason: err.message });
            let body: unknown;
            try {
              body = msg.json();
            } catch {
              body = msg.string();
            }
            Promise.resolve()
              .then(() => entry.handler(body, msg.subject, msg))
              .catch((e: unknown) => local('ERROR', 'topic handler failed', { topic, reason: (e as Error).message }));
          },
        }),
      );
    }
  }

  async function answer(msg: Msg): Promise<void> {
    let reply: ControlReply;
    let after: (() => void) | undefined;
    try {
      const parsed = ControlRequest.safeParse(JSON.parse(msg.string()));
      if (!parsed.success) {
        reply = { ok: false, error: `invalid control request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}` };
      } else {
        const req = parsed.data;
        switch (req.action) {
          case 'ping':
            reply = { ok: true };
            break;
          case 'config.update':
            reply = await applyConfig(req.version, req.config);
            break;
          case 'reload':
            await options.onReload?.();
            for (const entry of topicHandlers) subscribeTopics(entry);
            if (autoHeartbeat) heartbeat();
            reply = { ok: true };
            break;
          case 'stop':
            reply = { ok: true };
            after = () => void stop('stop requested by the AMS');
            break;
        }
      }
    } catch (err) {
      reply = { ok: false, error: err instanceof SyntaxError ? 'control request is not JSON' : (err as Error).message };
    }
    msg.respond(encode(reply));
    if (after) {
      await nc?.flush().catch(() => undefined);
      after();
    }
  }

  async function applyConfig(version: number, next: Record<string, unknown>): Promise<ControlReply> {
    if (version < configVersion) return { ok: false, error: `version ${version} is older than the applied version ${configVersion}` };
    const issues = validateConfigLayer(next);
    if (issues.length > 0) return { ok: false, error: issues.map((i) => `${i.path}: ${i.reason}`).join('; ') };
    const verdict = await options.validateConfig?.(next);
    if (verdict) return { ok: false, error: verdict };
    const previous = config;
    config = { ...next };
    configVersion = version;
    try {
      await options.onConfig?.(config, previous);
    } catch (err) {
      config = previous;
      return { ok: false, error: `the agent could not apply it: ${(err as Error).message}` };
    }
    if (previous.heartbeat_interval !== config.heartbeat_interval) scheduleHeartbeats();
    if (previous.subscribed_topics !== config.subscribed_topics) for (const entry of topicHandlers) subscribeTopics(entry);
    log('INFO', `configuration version ${version} applied`);
    return { ok: true };
  }

  function log(level: LogLevel, message: string, context?: Record<string, unknown>): void {
    const threshold = typeof config.log_level === 'string' ? config.log_level : 'INFO';
    if (levelRank(level) < levelRank(threshold)) return;
    // `nats: true` marks the stderr copy of a line that also goes over NATS: the supervisor, which
    // captures stderr, then leaves it to the ingest instead of storing it twice.
    const sent = nc !== undefined && !nc.isClosed();
    local(level, message, { ...(context ? { context } : {}), ...(sent ? { nats: true } : {}) });
    publish(own.logs, { level, message, timestamp: new Date().toISOString(), ...(context ? { context } : {}) });
  }

  async function watchStatus(conn: NatsConnection): Promise<void> {
    let refusedSince: number | undefined;
    for await (const s of conn.status()) {
      if (s.type === 'error' && (s.error instanceof natsErrors.AuthorizationError || s.error instanceof natsErrors.UserAuthenticationExpiredError)) {
        refusedSince ??= Date.now();
        if (Date.now() - refusedSince >= AUTH_REFUSED_EXIT_MS) void conn.close().catch(() => undefined);
      } else if (s.type === 'reconnect') refusedSince = undefined;
      if (s.type === 'disconnect') {
        connected = false;
        local('WARNING', 'lost the broker connection; reconnecting');
      } else if (s.type === 'reconnect') {
        connected = true;
        local('INFO', 'reconnected to the broker');
        if (autoHeartbeat) heartbeat();
      } else if (s.type === 'error') {
        local('WARNING', 'broker error', { reason: s.error.message });
      }
    }
  }

  function stop(reason = 'stopped', code = 0): Promise<void> {
    stopping ??= (async () => {
      clearTimeout(heartbeatTimer);
      for (const [sig, fn] of signalHandlers) process.off(sig, fn);
      try {
        await options.onStop?.(reason);
      } catch (err) {
        local('ERROR', 'onStop failed', { reason: (err as Error).message });
      }
      status = 'stopping';
      publish(own.status, { status: 'stopping', detail: reason });
      heartbeat();
      local('INFO', 'stopping', { reason });
      // Drain delivers what is buffered; with the broker gone it could wait forever, so it gets a few seconds.
      const conn = nc;
      if (conn && !conn.isClosed()) {
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([
          conn.drain().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
        if (!drained) await conn.close().catch(() => undefined);
      }
      exit(code);
    })();
    return stopping;
  }

  return {
    agentId,
    get config(): AgentConfig {
      return config;
    },
    get configVersion(): number {
      return configVersion;
    },
    get status(): AgentReportedStatus {
      return status;
    },
    /** Subjects of this agent (from the shared subject map). */
    subjects: own,
    topics,
    findingsTopic(): string | undefined {
      return typeof config.findings_topic === 'string' && config.findings_topic ? config.findings_topic : options.defaultFindingsTopic;
    },

    /** Connects (waiting for the broker if it is not up yet), answers control requests, says `ready` and starts heartbeats. */
    async start(): Promise<void> {
      if (options.handleSignals !== false) {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) {
          const fn = () => void stop(`received ${sig}`);
          signalHandlers.push([sig, fn]);
          process.on(sig, fn);
        }
      }
      nc = await connect({
        servers: environment.natsUrl.split(',').map((s) => s.trim()),
        authenticator: credsAuthenticator(new TextEncoder().encode(environment.creds)),
        name: agentId,
        inboxPrefix: own.inboxPrefix,
        ...(environment.tlsCaFile ? { tls: { caFile: environment.tlsCaFile } } : {}),
        waitOnFirstConnect: true,
        // Refusals are judged over time by watchStatus, not by the client's two-in-a-row rule.
        ignoreAuthErrorAbort: true,
        // A connection attempt that meets a nats-server reload can hang; try again soon rather
        // than after the client's default 20 s.
        timeout: CONNECT_TIMEOUT_MS,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 10_000,
        maxPingOut: 2,
      });
      connected = true;
      const conn = nc;
      void watchStatus(conn).catch(() => undefined);
      void conn.closed().then((err) => {
        if (stopping) return;
        // Reconnection is unlimited, so this is the broker refusing us (credentials revoked).
        local('ERROR', 'the broker closed the connection for good; exiting', { reason: err instanceof Error ? err.message : 'closed' });
        clearTimeout(heartbeatTimer);
        exit(1);
      });
      conn.subscribe(own.control, { callback: (err, msg) => (err ? local('ERROR', 'control subscription failed', { reason: err.message }) : void answer(msg)) });
      for (const entry of topicHandlers) subscribeTopics(entry);
      await conn.flush();
      publish(own.status, { status, detail: 'started' });
      if (autoHeartbeat) {
        heartbeat();
        // The first metrics message at once: it carries the declaration of what the numbers are.
        if (config.metrics_enabled !== false) publish(own.metrics, metricsMessage());
      }
      scheduleHeartbeats();
    },

    heartbeat,
    publishStatus(next: AgentReportedStatus, detail?: string): void {
      status = next;
      publish(own.status, { status: next, ...(detail ? { detail } : {}) });
    },
    /** Publishes the event counters, plus any other numbers the agent keeps. */
    publishMetrics(extra: Record<string, number> = {}): void {
      publish(own.metrics, metricsMessage(extra));
    },
    /** Counts one processed event for the metrics (`failed` counts it as failed too). */
    recordEvent(event: EventRecord = {}): void {
      counters.events_processed += 1;
      if (event.failed) counters.events_failed += 1;
      if (event.ms) counters.processing_ms = Math.round((counters.processing_ms + event.ms) * 1000) / 1000;
    },
    metrics,
    log,
    /** Publishes a JSON body on a subject the agent may publish to (its findings topic). */
    publish,
    /** Calls `handler` for every message on the agent's topics, now and after config changes or reloads. */
    onTopics(handler: TopicHandler): void {
      const entry = { handler, subs: [] as Subscription[] };
      topicHandlers.push(entry);
      if (nc) subscribeTopics(entry);
    },
    /** Final `stopping` status, drain, then exit(code). Safe to call more than once. */
    stop,
    /** The underlying client, for what the SDK does not wrap. */
    connection: (): NatsConnection | undefined => nc,
  };
}

/** The declaration as the AMS will check it; a bad one is the agent author's mistake, said at once. */
function checkedMeta(meta: MetricsMeta | undefined): MetricsMeta | undefined {
  if (meta === undefined) return undefined;
  const parsed = MetricsMeta.safeParse(meta);
  if (!parsed.success) {
    throw new TypeError(`metricsMeta: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(declaration)'} ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
