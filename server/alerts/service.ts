// The alert service. Its engine runs on one API replica at a time (an advisory lock; another
// takes over when the holder dies): a durable consumer of the event stream's state events runs
// the rules (rules.ts) on each, in order, and in one transaction keeps the alerts (raise,
// deduplicate, resolve), the deliveries to send, the alert.* events (outbox) and how far it has
// evaluated, so a redelivered event changes nothing and a holder killed between two writes
// leaves neither. The crash-loop window is counted in the database. Deliveries are sent after
// the commit, and those a dead holder left unfinished are sent by the next. Also the API's
// list, acknowledgement and channel test, on any replica.
import { jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { asDatabaseUnavailable, type Database } from '../db/database.js';
import { SINGLETON_KEYS } from '../db/singleton-lock.js';
import type { BrokerConnection } from '../broker/connection.js';
import { createDurableWorker } from '../control/durable-worker.js';
import { ensureEventStream, EVENTS_STREAM, isEphemeral, STATE_EVENT_SUBJECTS } from '../events/event-stream.js';
import { backoffDelay } from '../domain/backoff.js';
import { type AlertCursor, type AlertRow, type AlertSort, alertDeliveriesRepo, alertsRepo, type DeliveryRow, severityRankOf } from '../db/alerts.repo.js';
import type { AmsEvent, AmsEventInput, EventBus } from '../events/bus.js';
import { Conflict, NotFound } from '../errors.js';
import { type Page, toPage } from '../http/cursor.js';
import { routeAlert, type Channel, type Routing } from './channels.js';
import type { ChannelService } from './channel-service.js';
import { type AlertSignal, type ClearSignal, type CrashLoopSettings, crashLoopCleared, evaluateRules, higher, type RuleContext, severityRank, type Severity } from './rules.js';
import { type AlertPayload, deliver, type NotificationKind } from './senders.js';
import { createSilenceService, type SilenceView } from './silences.js';
import { maskUrl } from './channels.js';

export type AlertView = AlertPayload & {
  /** The silence that muted its notification, or null. */
  silence_id: number | null;
  /** The host it is about (host_down), or null. */
  host_id: string | null;
};

export interface DeliveryView {
  id: number;
  alert_id: number;
  channel: string;
  channel_type: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function presentAlert(r: AlertRow): AlertView {
  return {
    id: r.id,
    rule: r.rule,
    severity: r.severity,
    status: r.status,
    agent_id: r.agent_id,
    title: r.title,
    message: r.message,
    details: r.resolved_reason ? { ...r.details, resolved_reason: r.resolved_reason } : r.details,
    count: r.count,
    first_seen_at: r.first_seen_at.toISOString(),
    last_seen_at: r.last_seen_at.toISOString(),
    acknowledged_at: iso(r.acknowledged_at),
    acknowledged_by: r.acknowledged_by,
    resolved_at: iso(r.resolved_at),
    silence_id: r.silence_id === null || r.silence_id === undefined ? null : Number(r.silence_id),
    host_id: typeof r.details?.host_id === 'string' ? r.details.host_id : null,
  };
}

const presentDelivery = (d: DeliveryRow): DeliveryView => ({ ...d, created_at: d.created_at.toISOString(), updated_at: d.updated_at.toISOString() });

export class AlertNotFound extends NotFound {
  constructor(id: number) {
    super('alert_not_found', `Alert ${id} does not exist`);
  }
}

/** Event types the rules look at; the engine only acks the others. */
const RELEVANT = new Set(['status.changed', 'health.changed', 'recovery.escalated', 'recovery.succeeded', 'config.rolled_back', 'config.applied', 'host.down', 'host.up']);
/** The engine's durable consumer of the event stream, and its position's name in the database. */
const ENGINE_CONSUMER = 'opmas-alerts';
const ENGINE_POSITION = 'alerts';
/** How long the holder trusts its list of agents with open alerts before reading it again. */
const OPEN_AGENTS_TTL_MS = 30_000;

export interface AlertServiceDeps {
  db: Database;
  events: EventBus;
  logger: Logger;
  /** Where the event stream is (the engine's consumer). */
  connection: BrokerConnection;
  channels: ChannelService;
  crashLoop: CrashLoopSettings;
  /**
   * The channels named by the agent's recovery policy (`notification_channels`), for critical
   * and escalated alerts; undefined when it names none.
   */
  policyChannels: (agentId: string) => Promise<string[] | undefined>;
  /** The agent's name and process status, when it exists (titles, crash-loop clearing). */
  agentInfo: (agentId: string) => Promise<{ name: string; status: string } | undefined>;
  /** How often open crash-loop alerts are checked for having cleared; default a quarter of the window, at most 30 s. */
  sweepIntervalMs?: number;
}

/** What one bulk acknowledgement did to each alert. */
export interface BulkAckResult {
  acknowledged: AlertView[];
  skipped: Array<{ id: number; code: string; message: string }>;
}

/** The outcome of sending a test message to one channel. */
export interface ChannelTestResult {
  channel: string;
  type: string;
  ok: boolean;
  attempts: number;
  error: string | null;
  /** What happened, in a sentence a person reads. */
  detail: string;
  duration_ms: number;
  sent_at: string;
}

export type AlertService = ReturnType<typeof createAlertService>;

export function createAlertService(deps: AlertServiceDeps) {
  const { db, events, logger } = deps;
  const inflight = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let sweepTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const stats = { evaluated: 0, skipped: 0, duplicates: 0, malformed: 0, failed: 0, db_retries: 0, last_error: null as string | null };
  /**
   * On the holder: the agents that may have an unresolved alert (a superset: raises add to it,
   * resolutions do not remove from it until it is read again). Most state events only clear
   * conditions nobody alerted on (a fleet's agents becoming healthy); with this the engine acks
   * those without a transaction. Read inside the engine's transaction after its position lock,
   * so that what an earlier holder committed is in it; undefined (every event evaluated in full)
   * until then, after OPEN_AGENTS_TTL_MS, and when another replica is seen to have evaluated.
   */
  let openAgents: { ids: Set<string>; readAt: number } | undefined;
  /** The newest stream sequence the engine has dealt with here, and the newest state event this replica's bus delivered. */
  let processedSeq = 0;
  let deliveredSeq = 0;
  /** The event stream's identity (its creation time), read before each consumption starts. */
  let streamId = '';
  const silences = createSilenceService({ db, events, agentExists: async (id) => (await deps.agentInfo(id).catch(() => undefined)) !== undefined });

  /**
   * What one transaction decided (alert events to record with it, deliveries to send after it),
   * and what it reads that lives outside it, read before it begins: PGlite has one connection,
   * which the transaction holds.
   */
  interface Effects {
    events: AmsEventInput[];
    send: Array<{ row: DeliveryRow; alert: AlertView }>;
    channels: { channels: Channel[]; routing: Routing; undecryptable: Set<string> };
    /** The agent the event is about: its name, and the channels of its recovery policy. */
    agentId?: string;
    agent?: { name?: string; status?: string; policyChannels?: string[] };
  }
  const alertEvent = (type: 'alert.raised' | 'alert.updated' | 'alert.acknowledged' | 'alert.resolved', alert: AlertView): AmsEventInput => ({ type, agent_id: alert.agent_id, alert: { ...alert } });

  /** Runs `work` in a transaction, records its alert events there, and sends its deliveries after the commit. */
  async function inTransaction<T>(work: (trx: Knex.Transaction, fx: Effects) => Promise<T>, agentId?: string): Promise<T> {
    let published: () => void = () => undefined;
    const [channels, routing, undecryptable] = await Promise.all([deps.channels.channels(), deps.channels.routing(), deps.channels.undecryptable()]);
    const fx: Effects = { events: [], send: [], channels: { channels, routing, undecryptable } };
    if (agentId) {
      const [info, policyChannels] = await Promise.all([deps.agentInfo(agentId).catch(() => undefined), deps.policyChannels(agentId).catch(() => undefined)]);
      fx.agentId = agentId;
      fx.agent = { name: info?.name, status: info?.status, policyChannels };
    }
    const result = await db.knex.transaction(async (trx) => {
      const out = await work(trx, fx);
      published = await events.record(trx, fx.events);
      return out;
    });
    published();
    for (const d of fx.send) send(d.row, d.alert);
    return result;
  }

  async function upsert(trx: Knex.Transaction, signal: AlertSignal, silence: SilenceView | undefined): Promise<{ row: AlertRow; kind: 'raised' | 'updated'; escalated: boolean }> {
    const repo = alertsRepo(trx);
    const now = new Date();
    const existing = await repo.activeByKeyForUpdate(signal.key);
    if (!existing) {
      const row = await repo.insert(
        { rule: signal.rule, severity: signal.severity, agent_id: signal.agent_id, title: signal.title, message: signal.message, details: signal.details, dedup_key: signal.key, silence_id: silence?.id ?? null },
        now,
      );
      return { row, kind: 'raised', escalated: false };
    }
    const severity = higher(existing.severity as Severity, signal.severity);
    const row = await repo.bump(
      existing.id,
      { severity, title: signal.title, message: signal.message, details: { ...existing.details, ...signal.details }, ...(silence ? { silence_id: silence.id } : {}) },
      now,
    );
    return { row, kind: 'updated', escalated: severityRank(severity) > severityRank(existing.severity as Severity) };
  }

  function track(work: Promise<void>): void {
    const p = work.catch((err) => logger.warn({ err: (err as Error).message }, 'alert notification failed')).finally(() => inflight.delete(p));
    inflight.add(p);
  }

  /** Sends one recorded delivery in the background and records how it went. */
  function send(row: DeliveryRow, alert: AlertView): void {
    track(
      (async () => {
        const channel = (await deps.channels.channels()).find((c) => c.name === row.channel);
        const deliveries = alertDeliveriesRepo(db.knex);
        if (!channel) {
          await deliveries.update(row.id, { status: 'failed', attempts: row.attempts, last_error: `there is no channel named ${JSON.stringify(row.channel)} any more` });
          return;
        }
        const kind = row.kind as NotificationKind;
        const outcome = await deliver(channel, kind, alert, {
          signal: shutdown.signal,
          onAttempt: (attempts, error) => deliveries.update(row.id, { status: 'retrying', attempts, last_error: error }),
        });
        // Cut short by a shutdown: left unfinished, for whoever runs the engine next.
        if (!outcome.ok && shutdown.signal.aborted) return;
        await deliveries.update(row.id, { status: outcome.ok ? 'delivered' : 'failed', attempts: outcome.attempts, last_error: outcome.error });
        if (outcome.ok) logger.info({ alert: alert.id, channel: row.channel, type: channel.type, kind, attempts: outcome.attempts }, 'alert notification delivered');
        else logger.warn({ alert: alert.id, channel: row.channel, type: channel.type, kind, attempts: outcome.attempts, error: outcome.error }, 'alert notification failed');
      })(),
    );
  }

  /** Routes one notification and records a delivery per target (sent after the commit). */
  async function notify(trx: Knex.Transaction, fx: Effects, alert: AlertView, kind: NotificationKind, event?: AmsEvent): Promise<void> {
    const { channels, routing, undecryptable } = fx.channels;
    let targets: string[];
    if (kind === 'resolved') {
      targets = await alertDeliveriesRepo(trx).notifiedChannels(alert.id);
    } else {
      const escalation = alert.severity === 'critical' || alert.rule === 'recovery_escalated';
      const policyChannels = escalation && alert.agent_id && alert.agent_id === fx.agentId ? fx.agent?.policyChannels : undefined;
      const named = (event as { details?: { notification_channels?: unknown } } | undefined)?.details?.notification_channels;
      const eventChannels = Array.isArray(named) ? named.filter((n): n is string => typeof n === 'string') : undefined;
      targets = routeAlert({ severity: alert.severity as Severity, rule: alert.rule, routing, channels, policyChannels, eventChannels }).map((t) => t.name);
    }
    const deliveries = alertDeliveriesRepo(trx);
    for (const name of targets) {
      const channel = channels.find((c) => c.name === name);
      const problem = !channel ? `there is no channel named ${JSON.stringify(name)}` : undecryptable.has(name) ? 'its stored secret cannot be decrypted (was OPMAS_JWT_SECRET changed?); set the channel again' : undefined;
      if (!channel || problem) {
        await deliveries.insert({ alert_id: alert.id, channel: name, channel_type: channel?.type ?? 'unknown', kind, status: 'failed', last_error: problem });
        logger.warn({ alert: alert.id, channel: name, error: problem }, 'alert notification not sent');
        continue;
      }
      fx.send.push({ row: await deliveries.insert({ alert_id: alert.id, channel: name, channel_type: channel.type, kind, status: 'pending' }), alert });
    }
  }

  async function resolve(trx: Knex.Transaction, fx: Effects, c: Pick<ClearSignal, 'rule' | 'agent_id' | 'key' | 'keep' | 'when'> | { agent_id: string; rule?: undefined }, reason: string): Promise<void> {
    const repo = alertsRepo(trx);
    let ids: number[] | undefined;
    if ('when' in c && c.when && c.agent_id !== null) {
      ids = (await repo.activeFor(c.agent_id, c.rule)).filter((r) => c.when!(r.details)).map((r) => r.id);
      if (ids.length === 0) return;
    }
    const rows = await repo.resolveMatching({ rule: c.rule, agentId: c.agent_id, key: 'key' in c ? c.key : undefined, keep: 'keep' in c ? c.keep : undefined, ids }, reason, new Date());
    for (const view of rows.map(presentAlert)) {
      fx.events.push(alertEvent('alert.resolved', view));
      await notify(trx, fx, view, 'resolved');
    }
  }

  /**
   * Whether the rules can do nothing on this event: they raise nothing and count no failure, and
   * every agent whose alerts it clears has none open. Such an event is acked without a
   * transaction; the position does not move, which is safe: a redelivery finds it a no-op again,
   * or behind a later event's position.
   */
  function changesNothing(event: AmsEvent): boolean {
    if (!openAgents || Date.now() - openAgents.readAt > OPEN_AGENTS_TTL_MS) return false;
    if (event.type === 'status.changed' && event.to === 'failed') return false;
    const { raise, clear } = evaluateRules(event, { crashLoop: deps.crashLoop, recentFailures: 0 });
    const open = openAgents.ids;
    return raise.length === 0 && clear.every((c) => c.agent_id !== null && !open.has(c.agent_id));
  }

  /** The rules on one event, inside the engine's transaction. */
  async function evaluate(trx: Knex.Transaction, fx: Effects, event: AmsEvent): Promise<void> {
    const agentId = 'agent_id' in event && typeof event.agent_id === 'string' ? event.agent_id : undefined;
    let recentFailures = 0;
    if (agentId && event.type === 'status.changed' && event.to === 'failed') {
      const at = new Date(Date.parse(event.time) || Date.now());
      await alertsRepo(trx).addFailure(agentId, at);
      recentFailures = await alertsRepo(trx).failuresBetween(agentId, new Date(at.getTime() - deps.crashLoop.windowS * 1000), at);
    }
    const ctx: RuleContext = { crashLoop: deps.crashLoop, recentFailures };
    let outcome = evaluateRules(event, ctx);
    if (outcome.raise.length > 0 && fx.agent?.name) outcome = evaluateRules(event, { ...ctx, agentName: fx.agent.name });
    for (const c of outcome.clear) await resolve(trx, fx, c, c.reason);
    for (const signal of outcome.raise) {
      // A silenced alert is recorded and published like any other; only the sending is skipped.
      const silence = await silences.matching(signal.agent_id, signal.rule, trx);
      const { row, kind, escalated } = await upsert(trx, signal, silence);
      // Before the commit: should it roll back, the list only holds one agent too many.
      if (row.agent_id) openAgents?.ids.add(row.agent_id);
      const view = presentAlert(row);
      fx.events.push(alertEvent(kind === 'raised' ? 'alert.raised' : 'alert.updated', view));
      if (silence) {
        if (kind === 'raised' || escalated) logger.info({ alert: view.id, silence: silence.id, rule: view.rule, agent: view.agent_id }, 'alert notification silenced');
        continue;
      }
      if (kind === 'raised') await notify(trx, fx, view, 'raised', event);
      else if (escalated) await notify(trx, fx, view, 'escalated', event);
    }
  }

  /**
   * One event of the stream: evaluated once (the engine's position, kept in the same transaction
   * as what the rules did, makes a redelivery a no-op), acked once committed. While the database
   * is away the message stays unacked and is retried; when this replica loses the lock it is
   * left for the next holder.
   */
  async function handleMessage(m: JsMsg, active: () => boolean): Promise<void> {
    let event: AmsEvent;
    try {
      const body = JSON.parse(new TextDecoder().decode(m.data)) as AmsEvent;
      if (!body || typeof body.type !== 'string') throw new Error('not an event');
      event = { ...body, id: m.seq };
    } catch (err) {
      stats.malformed += 1;
      logger.warn({ subject: m.subject, err: (err as Error).message.slice(0, 200) }, 'dropped a malformed event');
      m.term();
      return;
    }
    if (!RELEVANT.has(event.type)) {
      m.ack();
      processedSeq = Math.max(processedSeq, m.seq);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const agentId = 'agent_id' in event && typeof event.agent_id === 'string' ? event.agent_id : undefined;
        if (changesNothing(event)) {
          stats.skipped += 1;
          m.ack();
          processedSeq = Math.max(processedSeq, m.seq);
          return;
        }
        const evaluated = await inTransaction(async (trx, fx) => {
          const repo = alertsRepo(trx);
          if ((await repo.positionForUpdate(ENGINE_POSITION, streamId)) >= m.seq) {
            // Another replica evaluated this event: what it raised is not in the list.
            openAgents = undefined;
            return false;
          }
          if (!openAgents || Date.now() - openAgents.readAt > OPEN_AGENTS_TTL_MS) openAgents = { ids: new Set(await repo.agentsWithOpenAlerts()), readAt: Date.now() };
          await evaluate(trx, fx, event);
          await repo.setPosition(ENGINE_POSITION, streamId, m.seq);
          return true;
        }, agentId);
        if (evaluated) stats.evaluated += 1;
        else stats.duplicates += 1;
        m.ack();
        processedSeq = Math.max(processedSeq, m.seq);
        return;
      } catch (err) {
        const unavailable = asDatabaseUnavailable(err);
        if (!unavailable) {
          stats.failed += 1;
          stats.last_error = (err as Error).message;
          logger.error({ seq: m.seq, type: event.type, err: (err as Error).message }, 'the alert rules failed on an event; it is skipped');
          m.ack();
          processedSeq = Math.max(processedSeq, m.seq);
          return;
        }
        if (!active()) return;
        stats.db_retries += 1;
        stats.last_error = unavailable.message;
        if (attempt === 1 || attempt % 10 === 0) logger.warn({ reason: unavailable.message }, 'the database is unavailable; alert rules wait');
        m.working();
        await new Promise((r) => setTimeout(r, backoffDelay({ initial: 250, factor: 2, max: 5000 }, attempt)));
      }
    }
  }

  /** Open crash-loop alerts whose agent has run a whole window without failing are resolved. */
  async function sweepCrashLoops(): Promise<void> {
    const now = Date.now();
    await alertsRepo(db.knex).forgetFailures({ before: new Date(now - 2 * deps.crashLoop.windowS * 1000) });
    for (const row of await alertsRepo(db.knex).active('crash_loop')) {
      if (!row.agent_id) continue;
      const agentId = row.agent_id;
      const last = await alertsRepo(db.knex).lastFailure(agentId);
      const lastFailureMs = Math.max(row.last_seen_at.getTime(), last?.getTime() ?? 0);
      const info = await deps.agentInfo(agentId).catch(() => undefined);
      if (crashLoopCleared({ lastFailureMs, nowMs: now, windowS: deps.crashLoop.windowS, processStatus: info?.status })) {
        await inTransaction((trx, fx) => resolve(trx, fx, { rule: 'crash_loop', agent_id: agentId }, `no failure for ${deps.crashLoop.windowS} s while running`));
      }
    }
  }

  /** Deliveries a holder that died (or stopped) left unfinished: sent now, at least once. */
  async function resumeDeliveries(): Promise<void> {
    for (const row of await alertDeliveriesRepo(db.knex).unfinished()) {
      const alert = await alertsRepo(db.knex).byId(row.alert_id);
      if (alert) send(row, presentAlert(alert));
    }
  }

  const worker = createDurableWorker({
    db,
    logger,
    connection: deps.connection,
    name: 'alert engine',
    lockKey: SINGLETON_KEYS.alertSweep,
    stream: EVENTS_STREAM,
    durable: ENGINE_CONSUMER,
    filterSubject: STATE_EVENT_SUBJECTS,
    async ensureStream(nc) {
      await ensureEventStream(nc);
      streamId = (await (await jetstreamManager(nc, { timeout: 5000 })).streams.info(EVENTS_STREAM)).created;
    },
    handle: handleMessage,
    onAcquired() {
      void resumeDeliveries().catch((err) => logger.warn({ err: (err as Error).message }, 'could not resume unfinished alert deliveries'));
      const every = deps.sweepIntervalMs ?? Math.min(30_000, Math.max(250, (deps.crashLoop.windowS * 1000) / 4));
      let sweeping = false;
      sweepTimer ??= setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        void sweepCrashLoops()
          .catch((err) => logger.warn({ err: (err as Error).message }, 'crash-loop sweep failed'))
          .finally(() => (sweeping = false));
      }, every);
      sweepTimer.unref();
    },
    onReleased() {
      openAgents = undefined;
      clearInterval(sweepTimer);
      sweepTimer = undefined;
    },
  });

  /** Acknowledges an open alert; 409 when it is resolved or acknowledged already. */
  async function acknowledge(id: number, by: string): Promise<{ before: AlertView; after: AlertView }> {
    return inTransaction(async (trx, fx) => {
      const repo = alertsRepo(trx);
      const row = await repo.byIdForUpdate(id);
      if (!row) throw new AlertNotFound(id);
      if (row.status === 'resolved') {
        throw new Conflict('alert_resolved', `Alert ${id} is resolved (at ${row.resolved_at?.toISOString()}); there is nothing to acknowledge`, { status: row.status, resolved_at: iso(row.resolved_at) });
      }
      if (row.status === 'acknowledged') {
        throw new Conflict('alert_already_acknowledged', `Alert ${id} was acknowledged by ${row.acknowledged_by ?? 'someone'} at ${row.acknowledged_at?.toISOString()}`, {
          status: row.status,
          acknowledged_by: row.acknowledged_by,
          acknowledged_at: iso(row.acknowledged_at),
        });
      }
      const result = { before: presentAlert(row), after: presentAlert(await repo.acknowledge(id, by, new Date())) };
      fx.events.push(alertEvent('alert.acknowledged', result.after));
      return result;
    });
  }

  return {
    start(): void {
      // What this replica's bus delivered, for settled(): the engine has dealt with an event once its position passed it.
      unsubscribe ??= events.subscribe((e) => {
        if (!isEphemeral(e.type)) deliveredSeq = Math.max(deliveredSeq, e.id);
      });
      worker.start();
    },

    /** Stops the engine, finishes the event in hand, and cuts pending deliveries short (left for the next holder). */
    async stop(): Promise<void> {
      unsubscribe?.();
      unsubscribe = undefined;
      await worker.stop();
      shutdown.abort();
      await Promise.allSettled([...inflight]);
    },

    /**
     * Resolves when the engine has evaluated every state event this replica has seen (when it
     * runs here) and notifications in flight are done (tests, shutdown).
     */
    async settled(timeoutMs = 30_000): Promise<void> {
      const target = deliveredSeq;
      const until = Date.now() + timeoutMs;
      while (worker.active() && processedSeq < target && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },

    async list(f: { status?: string[]; severity?: string[]; agentId?: string; rule?: string[]; labels?: Record<string, string>; sort?: AlertSort; after?: AlertCursor; limit: number }): Promise<Page<AlertView>> {
      const rows = await alertsRepo(db.knex).list(f);
      const keyOf = (r: AlertRow): AlertCursor =>
        f.sort === 'severity' ? { r: severityRankOf(r.severity), i: Number(r.id) } : f.sort === 'last_seen' ? { t: r.last_seen_at.toISOString(), i: Number(r.id) } : { i: Number(r.id) };
      return toPage(rows, f.limit, presentAlert, keyOf);
    },

    async get(id: number): Promise<AlertView> {
      const row = await alertsRepo(db.knex).byId(id);
      if (!row) throw new AlertNotFound(id);
      return presentAlert(row);
    },

    async deliveries(id: number): Promise<DeliveryView[]> {
      if (!(await alertsRepo(db.knex).byId(id))) throw new AlertNotFound(id);
      return (await alertDeliveriesRepo(db.knex).forAlert(id)).map(presentDelivery);
    },

    acknowledge,

    /**
     * Acknowledges each open alert of `ids` in its own transaction (one refusal does not undo
     * the others); the rest are answered with why they were skipped.
     */
    async acknowledgeMany(ids: number[], by: string): Promise<BulkAckResult> {
      const out: BulkAckResult = { acknowledged: [], skipped: [] };
      for (const id of [...new Set(ids)]) {
        try {
          out.acknowledged.push((await acknowledge(id, by)).after);
        } catch (err) {
          const e = err as { code?: string; message?: string; status?: number };
          if (e.status !== 404 && e.status !== 409) throw err;
          out.skipped.push({ id, code: e.code ?? 'error', message: e.message ?? String(err) });
        }
      }
      return out;
    },

    /**
     * Sends a test message to one channel, once (no retries), and answers what happened. The
     * desktop channel's test is an `alert.test` event on the live stream, which desktop
     * consoles show as a notification.
     */
    async testChannel(name: string, by: string): Promise<ChannelTestResult> {
      const [channels, undecryptable] = await Promise.all([deps.channels.channels(), deps.channels.undecryptable()]);
      const channel = channels.find((c) => c.name === name);
      if (!channel) throw new NotFound('channel_not_found', `There is no notification channel named ${JSON.stringify(name)}`);
      const started = Date.now();
      const sentAt = new Date(started).toISOString();
      const alert: AlertView = {
        id: 0,
        rule: 'test',
        severity: 'info',
        status: 'open',
        agent_id: null,
        title: `Test message to channel ${name}`,
        message: `A test message sent by ${by} from the OPMAS console to check the channel "${name}". Nothing is wrong.`,
        details: { test: true, requested_by: by },
        count: 1,
        first_seen_at: sentAt,
        last_seen_at: sentAt,
        acknowledged_at: null,
        acknowledged_by: null,
        resolved_at: null,
        silence_id: null,
        host_id: null,
      };
      const result = (ok: boolean, attempts: number, error: string | null, detail: string): ChannelTestResult => ({
        channel: name, type: channel.type, ok, attempts, error, detail, duration_ms: Date.now() - started, sent_at: sentAt,
      });
      if (undecryptable.has(name)) {
        const error = 'its stored secret cannot be decrypted (was OPMAS_JWT_SECRET changed?); set the channel again';
        return result(false, 0, error, `Not sent: ${error}.`);
      }
      if (channel.type === 'desktop') {
        events.publish({ type: 'alert.test', agent_id: null, alert: { ...alert }, channel: name });
        return result(true, 1, null, 'Sent on the live stream: every desktop console signed in with alerts:read shows it as a notification.');
      }
      const once = { ...channel, settings: { ...channel.settings, max_attempts: 1 } } as typeof channel;
      const outcome = await deliver(once, 'raised', alert, { signal: shutdown.signal });
      const where = channel.type === 'webhook' ? `the webhook at ${maskUrl(channel.secrets.url)}` : `the SMTP server ${channel.settings.host}:${channel.settings.port}`;
      return outcome.ok
        ? result(true, outcome.attempts, null, `Delivered: ${where} accepted it in ${Date.now() - started} ms.`)
        : result(false, outcome.attempts, outcome.error, `Not delivered to ${where}: ${outcome.error ?? 'unknown error'}.`);
    },

    silences,

    /** The agent is going away: its alerts can no longer clear by themselves. */
    async resolveForAgent(agentId: string, reason: string): Promise<void> {
      await inTransaction(async (trx, fx) => {
        await alertsRepo(trx).forgetFailures({ agentId });
        await resolve(trx, fx, { agent_id: agentId }, reason);
      });
    },

    stats: () => ({ ...stats, engine: worker.held(), deliveries_in_flight: inflight.size }),
  };
}
