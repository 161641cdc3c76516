// The control plane's side of observations (DESIGN.md "Cluster", STYLE.md #13): a durable
// JetStream consumer of OPMAS_OBSERVATIONS, run by one replica at a time (a PostgreSQL advisory
// lock; another takes over when the holder dies). Each observation is applied in a database
// transaction that also records how far its host's observations are applied (epoch, seq): a
// redelivery changes nothing, an older epoch is refused (fencing), a gap waits for what is
// missing. The message is acked only after the transaction committed, so a database outage loses
// nothing: the consumer stops acking and everything is applied, in order, when it returns.
import type { JsMsg } from '@nats-io/jetstream';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { asDatabaseUnavailable, isTransientConflict } from '../db/database.js';
import { hostsRepo } from '../db/hosts.repo.js';
import { recoveryRepo } from '../db/recovery.repo.js';
import { configRepo } from '../db/config.repo.js';
import { metricsRepo, type ResourceSampleRow } from '../db/metrics.repo.js';
import { processOutputRepo } from '../db/process-output.repo.js';
import { agentStatusRepo, type StatusColumns } from '../db/agent-status.repo.js';
import { desiredStateRepo } from '../db/desired-state.repo.js';
import { SINGLETON_KEYS } from '../db/singleton-lock.js';
import { createDurableWorker } from './durable-worker.js';
import { APPLIER_CONSUMER, type Observation, type ObservationBody, OBSERVATIONS_STREAM, parseObservation, type StatusSet } from '../broker/host-protocol.js';
import { subjects } from '../broker/subjects.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { AmsEventInput, EventBus } from '../events/bus.js';
import { AgentNotFound, DatabaseUnavailable } from '../errors.js';
import { statusWriter, type ProcessChange, type StatusEventType } from '../services/status.js';
import type { PackageService } from '../services/packages.js';
import type { CredentialsService } from '../services/credentials.js';
import { backoffDelay } from '../domain/backoff.js';
import { REPORTED } from '../supervisor/resource-sampler.js';

export type ApplyOutcome = 'applied' | 'duplicate' | 'stale' | 'gap';

export interface ApplierStats {
  applied: number;
  duplicates: number;
  stale: number;
  gaps: number;
  malformed: number;
  failed: number;
  db_retries: number;
  dropped_reported: number;
  holding: boolean;
  last_error: string | null;
}

/** How long a gap is waited for before what follows is applied anyway (the missing part is lost). */
const GAP_PATIENCE_MS = 30_000;

const toColumns = (set: StatusSet | undefined): StatusColumns | undefined => {
  if (!set) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(set)) out[k] = (k === 'start_time' || k === 'config_since') && typeof v === 'string' ? new Date(v) : v;
  return out as StatusColumns;
};

/** Stores a round of resource samples (and the newest values per agent) and collects their metrics.sample events. */
export async function storeSamples(trx: Knex.Transaction, samples: ObservationBody<'metrics.samples'>['samples'], publish: (e: AmsEventInput) => void): Promise<void> {
  const rows: ResourceSampleRow[] = [];
  for (const s of samples) {
    for (const [metric_type, metric_value] of Object.entries(s.values)) {
      if ((REPORTED as readonly string[]).includes(metric_type)) continue; // stored by ingest already
      rows.push({ agent_id: s.agent_id, metric_type, metric_value, threshold_value: s.thresholds && Object.hasOwn(s.thresholds, metric_type) ? s.thresholds[metric_type] : null, created_at: new Date(s.t) });
    }
  }
  for (let i = 0; i < rows.length; i += 2000) await metricsRepo(trx).insertResourceSamples(rows.slice(i, i + 2000));
  await agentStatusRepo(trx).mergeLatestMetrics(samples.map((s) => ({ agentId: s.agent_id, metrics: s.values })));
  for (const s of samples) publish({ type: 'metrics.sample', agent_id: s.agent_id, t: s.t, values: s.values });
}

export type ObservationApplier = ReturnType<typeof createObservationApplier>;

export function createObservationApplier(deps: {
  db: Database;
  logger: Logger;
  events: EventBus;
  connection: BrokerConnection;
  packages: PackageService;
  credentials: CredentialsService;
  /** Sends the current specs of agents to their hosts (after what was applied changed them). */
  push(agentIds: string[]): Promise<void>;
}) {
  const { db, logger } = deps;
  const stats: ApplierStats = { applied: 0, duplicates: 0, stale: 0, gaps: 0, malformed: 0, failed: 0, db_retries: 0, dropped_reported: 0, holding: false, last_error: null };
  const gapSince = new Map<string, number>();
  const droppedSaid = new Map<string, number>();
  const appliedListeners = new Set<(o: Observation) => void>();

  /** The body of one observation, inside the transaction; bus events and follow-ups are collected. */
  async function applyBody(trx: Knex.Transaction, o: Observation, publish: (e: AmsEventInput) => void, later: Array<() => void | Promise<void>>): Promise<void> {
    const w = statusWriter(trx, publish, 'observed', new Date(o.at));
    switch (o.kind) {
      case 'host.hello': {
        const b = o.body as ObservationBody<'host.hello'>;
        await hostsRepo(trx).hello({ id: o.host, name: b.name, address: b.address, version: b.version, pid: b.pid, agents_dir: b.agents_dir, started_at: new Date(b.started_at), epoch: o.epoch });
        return;
      }
      case 'status.process': {
        const b = o.body as ObservationBody<'status.process'>;
        const changes: ProcessChange[] = b.changes.map((c) => ({ to: c.to, event: c.event as StatusEventType, details: c.details, set: toColumns(c.set) }));
        const result = await w.transitions(b.agent_id, changes);
        if (b.credentials && result.to === 'running') later.push(() => deps.credentials.revokeOlderThan(b.agent_id, b.credentials!.public_key));
        if (result.to === 'running' && result.from !== 'running') later.push(() => deps.push([b.agent_id]));
        return;
      }
      case 'status.health': {
        const b = o.body as ObservationBody<'status.health'>;
        await w.setHealth(b.agent_id, b.to, b.reasons, b.details, b.metrics);
        return;
      }
      case 'status.recovery': {
        const b = o.body as ObservationBody<'status.recovery'>;
        await w.setRecovery(b.agent_id, b.to, b.event as StatusEventType, b.details, b.bus_event as never, b.state);
        if (b.to === 'failed' && b.event === 'recovery_failed') {
          // Spent: the agent should still run, but is held until an operator acts or its config or package changes.
          const reason = typeof b.details.last_error === 'string' ? b.details.last_error : 'automatic recovery failed';
          await desiredStateRepo(trx).set(b.agent_id, { held: true, held_reason: reason });
          await w.note(b.agent_id, 'held', { reason: `recovery is spent (${reason}); the agent is started again when an operator starts it or its configuration or package changes` }, { statuses: 'recovery' });
          later.push(() => deps.push([b.agent_id]));
        }
        return;
      }
      case 'status.note': {
        const b = o.body as ObservationBody<'status.note'>;
        await w.note(b.agent_id, b.event as StatusEventType, b.details, { set: toColumns(b.set), statuses: b.statuses, busEvent: b.bus_event as never });
        return;
      }
      case 'status.columns': {
        const b = o.body as ObservationBody<'status.columns'>;
        await w.setColumns(b.agent_id, toColumns(b.set) ?? {});
        return;
      }
      case 'recovery.attempt': {
        const b = o.body as ObservationBody<'recovery.attempt'>;
        await recoveryRepo(trx).insertAttemptKeyed({
          key: b.key, agent_id: b.agent_id, attempt_number: b.attempt_number, recovery_strategy: b.strategy, trigger: b.trigger,
          started_at: new Date(b.started_at), episode_started_at: new Date(b.episode_started_at), details: b.details,
        });
        const max = typeof b.details.max_attempts === 'number' ? b.details.max_attempts : undefined;
        publish({ type: 'recovery.attempt', agent_id: b.agent_id, attempt: b.attempt_number, max_attempts: max, trigger: b.trigger, action: b.strategy, details: { delay_s: b.details.delay_s } });
        return;
      }
      case 'recovery.attempt_finished': {
        const b = o.body as ObservationBody<'recovery.attempt_finished'>;
        await recoveryRepo(trx).finishAttemptKeyed(b.key, b.status, b.error, b.extra);
        return;
      }
      case 'config.apply': {
        const b = o.body as ObservationBody<'config.apply'>;
        await configRepo(trx).markApplied(b.agent_id, b.version, b.status, b.error);
        return;
      }
      case 'metrics.samples': {
        await storeSamples(trx, (o.body as ObservationBody<'metrics.samples'>).samples, publish);
        return;
      }
      case 'logs.lines': {
        const b = o.body as ObservationBody<'logs.lines'>;
        await processOutputRepo(trx).insert(
          b.lines.map((l) => ({ agent_id: l.agent_id, level: l.level, message: l.message, context: l.context, source: l.source as 'stdout' | 'stderr', timestamp: new Date(l.timestamp) })),
        );
        for (const l of b.lines) publish({ type: 'log.line', agent_id: l.agent_id, level: l.level, message: l.message, timestamp: l.timestamp, source: l.source, context: l.context });
        return;
      }
      case 'journal.dropped': {
        const b = o.body as ObservationBody<'journal.dropped'>;
        stats.dropped_reported += b.samples + b.log_lines;
        // One placeholder per dropped batch: said once a minute per host.
        const said = droppedSaid.get(o.host);
        if (said === undefined || Date.now() - said > 60_000) {
          droppedSaid.set(o.host, Date.now());
          logger.warn({ host: o.host, samples: b.samples, logLines: b.log_lines, since: b.since, droppedReported: stats.dropped_reported }, 'a host dropped samples and log lines (NATS was unreachable, or a batch was too large for it)');
        }
        return;
      }
      case 'packages.scan':
        return; // applied outside the host row's transaction (see applyOnce)
    }
  }

  /** Where an observation stands against its host's applied position. */
  function judge(o: Observation, host: { applied_epoch: number; applied_seq: number }): ApplyOutcome | 'apply' {
    const key = `${o.host}:${o.epoch}:${o.seq}`;
    if (o.epoch < host.applied_epoch) return 'stale';
    if (o.epoch === host.applied_epoch && o.seq <= host.applied_seq) return 'duplicate';
    const next = o.epoch === host.applied_epoch ? host.applied_seq + 1 : 1;
    if (o.seq === next) {
      gapSince.delete(key);
      return 'apply';
    }
    const since = gapSince.get(key) ?? Date.now();
    gapSince.set(key, since);
    if (Date.now() - since < GAP_PATIENCE_MS) return 'gap';
    gapSince.delete(key);
    logger.error({ host: o.host, epoch: o.epoch, seq: o.seq, expected: next }, 'observations of a host are missing; applying what follows');
    return 'apply';
  }

  /** Applies one observation once, in order. Exposed for tests. */
  async function applyOnce(o: Observation): Promise<ApplyOutcome> {
    const pending: AmsEventInput[] = [];
    const later: Array<() => void | Promise<void>> = [];
    if (o.kind === 'packages.scan') {
      // Registration runs through the agent service's own transactions; the scan is idempotent,
      // so it is judged first and the host's position recorded after.
      const host = await hostsRepo(db.knex).lock(o.host).catch(async () => hostsRepo(db.knex).get(o.host));
      const verdict = judge(o, host ?? { applied_epoch: 0, applied_seq: 0 });
      if (verdict !== 'apply') return verdict;
      const changed = await deps.packages.applyScan(o.host, o.body as ObservationBody<'packages.scan'>);
      const outcome = await db.knex.transaction(async (trx) => {
        const h = await hostsRepo(trx).lock(o.host);
        const again = judge(o, h);
        if (again !== 'apply') return again;
        await hostsRepo(trx).applied(o.host, o.epoch, o.seq);
        return 'applied' as const;
      });
      if (changed.length > 0) await deps.push(changed);
      return outcome;
    }
    let published: () => void = () => undefined;
    const outcome = await db.knex.transaction(async (trx): Promise<ApplyOutcome> => {
      const host = await hostsRepo(trx).lock(o.host);
      const verdict = judge(o, host);
      if (verdict !== 'apply') return verdict;
      if (o.epoch > host.applied_epoch && host.applied_epoch > 0) {
        // A new supervisor of the host: the attempts its predecessor left in progress died with it.
        for (const agentId of await recoveryRepo(trx).failUnfinishedOfHost(o.host, 'the supervisor stopped during the attempt')) {
          const w = statusWriter(trx, (e) => pending.push(e), 'observed');
          const row = await agentStatusRepo(trx).get(agentId);
          if (row?.recovery_status === 'in_progress') await w.setRecovery(agentId, 'none', 'recovery_cancelled', { reason: 'the supervisor restarted during the recovery' }, undefined, null);
        }
      }
      try {
        await trx.raw('SAVEPOINT obs');
        await applyBody(trx, o, (e) => pending.push(e), later);
        await trx.raw('RELEASE SAVEPOINT obs');
      } catch (err) {
        if (!(err instanceof AgentNotFound)) throw err;
        // The agent was deleted meanwhile: nothing of it to record.
        await trx.raw('ROLLBACK TO SAVEPOINT obs');
        pending.length = 0;
        later.length = 0;
      }
      await hostsRepo(trx).applied(o.host, o.epoch, o.seq);
      // The events go with the change: recorded in this transaction, published once it committed.
      published = await deps.events.record(trx, pending);
      return 'applied';
    });
    if (outcome === 'applied') {
      published();
      for (const step of later) await Promise.resolve(step()).catch((err) => logger.warn({ err: (err as Error).message }, 'a follow-up of an observation failed'));
      for (const l of appliedListeners) l(o);
    }
    return outcome;
  }

  /** Records the host's position past an observation that cannot be applied. */
  async function skip(o: Observation): Promise<void> {
    await db.knex.transaction(async (trx) => {
      const host = await hostsRepo(trx).lock(o.host);
      if (judge(o, host) === 'apply') await hostsRepo(trx).applied(o.host, o.epoch, o.seq);
    });
  }

  /** Handles one message: applies it (retrying while the database is away) and acks it once committed. */
  async function handle(m: JsMsg, active: () => boolean): Promise<void> {
    let o: Observation;
    try {
      o = parseObservation(JSON.parse(new TextDecoder().decode(m.data)));
    } catch (err) {
      stats.malformed += 1;
      logger.warn({ subject: m.subject, err: (err as Error).message.slice(0, 300) }, 'dropped a malformed observation');
      m.term();
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await applyOnce(o);
        if (outcome === 'gap') {
          logger.debug({ host: o.host, epoch: o.epoch, seq: o.seq, kind: o.kind }, 'observation gap: waiting for the ones before it');
          stats.gaps += 1;
          m.nak(500);
          return;
        }
        logger.debug({ host: o.host, epoch: o.epoch, seq: o.seq, kind: o.kind, outcome }, 'observation');
        if (outcome === 'applied') stats.applied += 1;
        else if (outcome === 'duplicate') stats.duplicates += 1;
        else {
          stats.stale += 1;
          logger.warn({ host: o.host, epoch: o.epoch, seq: o.seq, kind: o.kind }, 'refused an observation of an older epoch of its host');
        }
        m.ack();
        return;
      } catch (err) {
        // A conflict with another transaction (a deadlock) is tried again like an outage: never skipped.
        let unavailable = asDatabaseUnavailable(err) ?? (isTransientConflict(err) ? new DatabaseUnavailable(`a conflict with another transaction (${(err as Error).message})`) : undefined);
        if (!unavailable) {
          try {
            // Its place in the host's sequence is taken all the same: what follows must not wait for it.
            await skip(o);
            stats.failed += 1;
            stats.last_error = (err as Error).message;
            logger.error({ host: o.host, epoch: o.epoch, seq: o.seq, kind: o.kind, err: (err as Error).message }, 'an observation could not be applied; it is skipped');
            m.ack();
            return;
          } catch (skipErr) {
            unavailable = asDatabaseUnavailable(skipErr);
            if (!unavailable) throw skipErr;
          }
        }
        if (!active()) return; // left unacked: redelivered to whoever applies next
        stats.db_retries += 1;
        stats.last_error = unavailable.message;
        if (attempt === 1 || attempt % 10 === 0) logger.warn({ reason: unavailable.message }, 'the database is unavailable; observations wait in the stream');
        m.working();
        await new Promise((r) => setTimeout(r, backoffDelay({ initial: 250, factor: 2, max: 5000 }, attempt)));
        m.working();
      }
    }
  }

  const worker = createDurableWorker({
    db,
    logger,
    connection: deps.connection,
    name: 'observation applier',
    lockKey: SINGLETON_KEYS.observationApplier,
    stream: OBSERVATIONS_STREAM,
    durable: APPLIER_CONSUMER,
    filterSubject: subjects.everyHost.observations,
    handle,
  });

  return {
    applyOnce,
    stats: (): ApplierStats => ({ ...stats, holding: worker.held() }),
    /** Called after each observation is applied (tests wait for a host's scan through it). */
    onApplied(listener: (o: Observation) => void): () => void {
      appliedListeners.add(listener);
      return () => appliedListeners.delete(listener);
    },
    start: () => worker.start(),
    stop: () => worker.stop(),
  };
}
