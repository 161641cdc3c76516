// The alert service: listens to the event bus, runs the rules (rules.ts), keeps alerts in the
// database (raise, deduplicate, resolve), publishes alert.* events, and sends notifications
// through the routed channels with every delivery recorded. Also the API's list and ack.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { type AlertRow, alertDeliveriesRepo, alertsRepo, type DeliveryRow } from '../db/alerts.repo.js';
import type { AmsEvent, EventBus } from '../events/bus.js';
import { Conflict, NotFound } from '../errors.js';
import { type Page, toPage } from '../http/cursor.js';
import { routeAlert } from './channels.js';
import type { ChannelService } from './channel-service.js';
import { type AlertSignal, type CrashLoopSettings, crashLoopCleared, evaluateRules, higher, type RuleContext, severityRank, type Severity, slideWindow } from './rules.js';
import { type AlertPayload, deliver, type NotificationKind } from './senders.js';

export type AlertView = AlertPayload;

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
  };
}

const presentDelivery = (d: DeliveryRow): DeliveryView => ({ ...d, created_at: d.created_at.toISOString(), updated_at: d.updated_at.toISOString() });

export class AlertNotFound extends NotFound {
  constructor(id: number) {
    super('alert_not_found', `Alert ${id} does not exist`);
  }
}

/** Event types the rules look at; everything else (metrics samples, log lines) is not queued. */
const RELEVANT = new Set(['status.changed', 'health.changed', 'recovery.escalated', 'recovery.succeeded', 'config.rolled_back', 'config.applied']);
const MAX_QUEUED = 10_000;
/** How often the index of unresolved alerts is read again (alerts another AMS replica raised). */
const OPEN_REFRESH_MS = 30_000;

export interface AlertServiceDeps {
  db: Database;
  events: EventBus;
  logger: Logger;
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

export type AlertService = ReturnType<typeof createAlertService>;

export function createAlertService(deps: AlertServiceDeps) {
  const { db, events, logger } = deps;
  const failures = new Map<string, number[]>();
  const inflight = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  let dropped = 0;
  let unsubscribe: (() => void) | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  /**
   * Unresolved alerts per agent and rule, as far as this AMS knows (read at start and every
   * OPEN_REFRESH_MS, kept by raise and resolve): most events clear a condition nobody alerted on
   * (every heartbeat-healthy agent), and each such clear would otherwise be an UPDATE. Undefined
   * until read: then every clear is written.
   */
  let open: Map<string, Map<string, number>> | undefined;
  let openReadAt = 0;

  async function readOpen(): Promise<void> {
    const next = new Map<string, Map<string, number>>();
    for (const r of await alertsRepo(db.knex).openCounts()) (next.get(r.agent_id) ?? next.set(r.agent_id, new Map()).get(r.agent_id)!).set(r.rule, Number(r.n));
    open = next;
    openReadAt = Date.now();
  }

  function countOpen(agentId: string, rule: string, delta: number): void {
    if (!open) return;
    const rules = open.get(agentId) ?? open.set(agentId, new Map()).get(agentId)!;
    const n = (rules.get(rule) ?? 0) + delta;
    if (n > 0) rules.set(rule, n);
    else rules.delete(rule);
    if (rules.size === 0) open.delete(agentId);
  }

  /** Whether the agent may have an unresolved alert of `rule` (of any rule when omitted). */
  function mayBeOpen(agentId: string, rule?: string): boolean {
    if (!open) return true;
    const rules = open.get(agentId);
    return rules !== undefined && (rule === undefined || rules.has(rule));
  }

  const publish = (type: 'alert.raised' | 'alert.updated' | 'alert.acknowledged' | 'alert.resolved', alert: AlertView) =>
    events.publish({ type, agent_id: alert.agent_id, alert: { ...alert } });

  /** Runs rule work one piece at a time, in event order; `force` work (API calls) is never dropped. */
  function enqueue(work: () => Promise<void>, force = false): Promise<void> {
    if (queued >= MAX_QUEUED && !force) {
      if (dropped++ % 1000 === 0) logger.warn({ dropped }, 'alert rules are behind; events dropped');
      return Promise.resolve();
    }
    queued += 1;
    const run = queue.then(work).finally(() => (queued -= 1));
    queue = run.catch((err) => logger.warn({ err: (err as Error).message }, 'alert rule evaluation failed'));
    return run;
  }

  async function upsert(signal: AlertSignal): Promise<{ row: AlertRow; kind: 'raised' | 'updated'; escalated: boolean }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await db.knex.transaction(async (trx) => {
          const repo = alertsRepo(trx);
          const now = new Date();
          const existing = await repo.activeByKeyForUpdate(signal.key);
          if (!existing) {
            const row = await repo.insert({ rule: signal.rule, severity: signal.severity, agent_id: signal.agent_id, title: signal.title, message: signal.message, details: signal.details, dedup_key: signal.key }, now);
            return { row, kind: 'raised' as const, escalated: false };
          }
          const severity = higher(existing.severity as Severity, signal.severity);
          const row = await repo.bump(existing.id, { severity, title: signal.title, message: signal.message, details: { ...existing.details, ...signal.details } }, now);
          return { row, kind: 'updated' as const, escalated: severityRank(severity) > severityRank(existing.severity as Severity) };
        });
      } catch (err) {
        // Another AMS replica opened the same alert between our read and insert: bump theirs.
        if ((err as { code?: string }).code === '23505' && attempt === 0) continue;
        throw err;
      }
    }
  }

  function track(work: Promise<void>): void {
    const p = work.catch((err) => logger.warn({ err: (err as Error).message }, 'alert notification failed')).finally(() => inflight.delete(p));
    inflight.add(p);
  }

  /** Routes and sends one notification in the background; every target gets a delivery row. */
  async function notify(alert: AlertView, kind: NotificationKind, event?: AmsEvent): Promise<void> {
    const [channels, routing, undecryptable] = await Promise.all([deps.channels.channels(), deps.channels.routing(), deps.channels.undecryptable()]);
    let targets: string[];
    if (kind === 'resolved') {
      targets = await alertDeliveriesRepo(db.knex).notifiedChannels(alert.id);
    } else {
      const escalation = alert.severity === 'critical' || alert.rule === 'recovery_escalated';
      const policyChannels = escalation && alert.agent_id ? await deps.policyChannels(alert.agent_id).catch(() => undefined) : undefined;
      const named = (event as { details?: { notification_channels?: unknown } } | undefined)?.details?.notification_channels;
      const eventChannels = Array.isArray(named) ? named.filter((n): n is string => typeof n === 'string') : undefined;
      targets = routeAlert({ severity: alert.severity as Severity, rule: alert.rule, routing, channels, policyChannels, eventChannels }).map((t) => t.name);
    }
    const deliveries = alertDeliveriesRepo(db.knex);
    for (const name of targets) {
      const channel = channels.find((c) => c.name === name);
      const problem = !channel ? `there is no channel named ${JSON.stringify(name)}` : undecryptable.has(name) ? 'its stored secret cannot be decrypted (was OPMAS_JWT_SECRET changed?); set the channel again' : undefined;
      if (!channel || problem) {
        await deliveries.insert({ alert_id: alert.id, channel: name, channel_type: channel?.type ?? 'unknown', kind, status: 'failed', last_error: problem });
        logger.warn({ alert: alert.id, channel: name, error: problem }, 'alert notification not sent');
        continue;
      }
      const row = await deliveries.insert({ alert_id: alert.id, channel: name, channel_type: channel.type, kind, status: 'pending' });
      track(
        (async () => {
          const outcome = await deliver(channel, kind, alert, {
            signal: shutdown.signal,
            onAttempt: (attempts, error) => deliveries.update(row.id, { status: 'retrying', attempts, last_error: error }),
          });
          await deliveries.update(row.id, { status: outcome.ok ? 'delivered' : 'failed', attempts: outcome.attempts, last_error: outcome.error });
          if (outcome.ok) logger.info({ alert: alert.id, channel: name, type: channel.type, kind, attempts: outcome.attempts }, 'alert notification delivered');
          else logger.warn({ alert: alert.id, channel: name, type: channel.type, kind, attempts: outcome.attempts, error: outcome.error }, 'alert notification failed');
        })(),
      );
    }
  }

  async function resolve(f: { rule?: string; agentId: string; keep?: string[]; when?: (details: Record<string, unknown>) => boolean }, reason: string): Promise<AlertView[]> {
    if (!mayBeOpen(f.agentId, f.rule)) return [];
    const repo = alertsRepo(db.knex);
    let ids: number[] | undefined;
    if (f.when) {
      ids = (await repo.activeFor(f.agentId, f.rule)).filter((r) => f.when!(r.details)).map((r) => r.id);
      if (ids.length === 0) return [];
    }
    const rows = await repo.resolveMatching({ rule: f.rule, agentId: f.agentId, keep: f.keep, ids }, reason, new Date());
    for (const r of rows) countOpen(f.agentId, r.rule, -1);
    const views = rows.map(presentAlert);
    for (const view of views) {
      publish('alert.resolved', view);
      track(notify(view, 'resolved'));
    }
    return views;
  }

  async function handle(event: AmsEvent): Promise<void> {
    const agentId = 'agent_id' in event && typeof event.agent_id === 'string' ? event.agent_id : undefined;
    let recentFailures = 0;
    if (agentId && event.type === 'status.changed') {
      const t = Date.parse(event.time);
      const window = slideWindow(failures.get(agentId) ?? [], t, deps.crashLoop.windowS, event.to === 'failed');
      if (window.length > 0) failures.set(agentId, window);
      else failures.delete(agentId);
      recentFailures = window.length;
    }
    const ctx: RuleContext = { crashLoop: deps.crashLoop, recentFailures };
    let outcome = evaluateRules(event, ctx);
    if (outcome.raise.length > 0 && agentId) {
      const info = await deps.agentInfo(agentId).catch(() => undefined);
      if (info) outcome = evaluateRules(event, { ...ctx, agentName: info.name });
    }
    for (const c of outcome.clear) await resolve({ rule: c.rule, agentId: c.agent_id, keep: c.keep, when: c.when }, c.reason);
    for (const signal of outcome.raise) {
      const { row, kind, escalated } = await upsert(signal);
      if (kind === 'raised' && row.agent_id) countOpen(row.agent_id, row.rule, 1);
      const view = presentAlert(row);
      publish(kind === 'raised' ? 'alert.raised' : 'alert.updated', view);
      if (kind === 'raised') track(notify(view, 'raised', event));
      else if (escalated) track(notify(view, 'escalated', event));
    }
  }

  async function sweepCrashLoops(): Promise<void> {
    const now = Date.now();
    for (const row of await alertsRepo(db.knex).active('crash_loop')) {
      if (!row.agent_id) continue;
      const lastFailureMs = Math.max(row.last_seen_at.getTime(), ...(failures.get(row.agent_id) ?? []));
      const info = await deps.agentInfo(row.agent_id).catch(() => undefined);
      if (crashLoopCleared({ lastFailureMs, nowMs: now, windowS: deps.crashLoop.windowS, processStatus: info?.status })) {
        await resolve({ rule: 'crash_loop', agentId: row.agent_id }, `no failure for ${deps.crashLoop.windowS} s while running`);
      }
    }
  }

  return {
    start(): void {
      // First in the queue: the events that follow are handled knowing which alerts are open.
      if (!unsubscribe) void enqueue(readOpen, true).catch(() => undefined);
      unsubscribe ??= events.subscribe((event) => {
        if (RELEVANT.has(event.type)) void enqueue(() => handle(event)).catch(() => undefined);
      });
      const every = deps.sweepIntervalMs ?? Math.min(30_000, Math.max(250, (deps.crashLoop.windowS * 1000) / 4));
      sweepTimer ??= setInterval(() => {
        void enqueue(sweepCrashLoops).catch(() => undefined);
        if (Date.now() - openReadAt >= OPEN_REFRESH_MS) void enqueue(readOpen).catch(() => undefined);
      }, every);
      sweepTimer.unref();
    },

    /** Stops listening, finishes queued rule work, and cuts pending deliveries short. */
    async stop(): Promise<void> {
      unsubscribe?.();
      unsubscribe = undefined;
      clearInterval(sweepTimer);
      await queue;
      shutdown.abort();
      await Promise.allSettled([...inflight]);
    },

    /** Resolves when queued rule work and notifications in flight are done (tests, shutdown). */
    async settled(): Promise<void> {
      await queue;
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },

    async list(f: { status?: string[]; severity?: string[]; agentId?: string; rule?: string; beforeId?: number; limit: number }): Promise<Page<AlertView>> {
      const rows = await alertsRepo(db.knex).list(f);
      return toPage(rows, f.limit, presentAlert, (r) => ({ i: r.id }));
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

    /** Acknowledges an open alert; 409 when it is resolved or acknowledged already. */
    async acknowledge(id: number, by: string): Promise<{ before: AlertView; after: AlertView }> {
      const result = await db.knex.transaction(async (trx) => {
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
        return { before: presentAlert(row), after: presentAlert(await repo.acknowledge(id, by, new Date())) };
      });
      publish('alert.acknowledged', result.after);
      return result;
    },

    /** The agent is going away: its alerts can no longer clear by themselves. */
    async resolveForAgent(agentId: string, reason: string): Promise<void> {
      failures.delete(agentId);
      await enqueue(async () => void (await resolve({ agentId }, reason)), true);
    },

    stats: () => ({ queued, dropped, deliveries_in_flight: inflight.size }),
  };
}
