// The status service: the ONLY writer of an agent's process, health and recovery status.
// Each change updates agent_status, appends one history row whose details name the cause, and
// (after the transaction commits) publishes the bus event. Two ways in:
// - intent (the API): a change checked against the state machine, 409 otherwise;
// - observation (a supervisor saw it happen, applied by the observation applier inside its own
//   transaction): what the host observed is recorded even where the control plane's record
//   disagrees, and a request step the API already recorded (start_requested, stop_requested) is
//   not recorded twice.
import DataLoader from 'dataloader';
import type { Knex } from 'knex';
import type { Database } from '../db/database.js';
import { agentStatusRepo, type AgentStatusRow, type StatusColumns } from '../db/agent-status.repo.js';
import { statusHistoryRepo, type StatusHistoryRow } from '../db/status-history.repo.js';
import { AgentNotFound } from '../errors.js';
import type { AmsEventInput, EventBus, HealthStatus, ProcessStatus } from '../events/bus.js';
import { canTransition, isProcessState, type ProcessState } from '../domain/state-machine.js';
import type { RecoveryState } from '../domain/statuses.js';
import { InvalidTransition } from '../domain/lifecycle-errors.js';
import { type Page, toPage } from '../http/cursor.js';

/** Event types of status history rows. */
export const STATUS_EVENT_TYPES = [
  'discovered', 'registered', 'start_requested', 'process_started', 'stop_requested', 'process_stopped', 'process_exited',
  'degraded', 'recovered', 'health_changed', 'recovery_attempt', 'recovery_succeeded', 'recovery_failed', 'recovery_escalated',
  'recovery_cancelled', 'config_applied', 'config_rejected', 'config_rolled_back', 'adopted', 'orphan_stopped', 'held', 'released',
] as const;
export type StatusEventType = (typeof STATUS_EVENT_TYPES)[number];

export type RecoveryStatus = RecoveryState;

export interface ProcessChange {
  to: ProcessState;
  event: StatusEventType;
  details: Record<string, unknown>;
  /** Columns set with the status (pid, exit code, ...). */
  set?: StatusColumns;
  /** Narrower than the table: the change is refused unless the agent is in one of these. */
  from?: readonly ProcessState[];
  /** The operator action, for the 409 message. */
  action?: string;
}

export interface StatusHistoryView {
  id: number;
  agent_id: string;
  event_type: string;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

interface HealthWrite {
  agentId: string;
  to: HealthStatus;
  details: Record<string, unknown>;
}

export interface NoteOptions {
  set?: StatusColumns;
  busEvent?: AmsEventInput;
  statuses?: 'process' | 'recovery';
}

/** Request steps the API records itself when it accepts an operator's action. */
const INTENT_EVENTS: ReadonlySet<string> = new Set(['start_requested', 'stop_requested']);

export type StatusWriter = ReturnType<typeof statusWriter>;

/**
 * The status writes of one transaction. `publish` collects bus events, to be published once the
 * transaction commits. In `observed` mode a process change is recorded whatever the current
 * status (the supervisor saw it happen), except a request step already recorded.
 */
export function statusWriter(trx: Knex.Transaction, publish: (e: AmsEventInput) => void, mode: 'checked' | 'observed' = 'checked', observedAt?: Date) {
  const repo = agentStatusRepo(trx);
  const base = statusHistoryRepo(trx);
  // An observation's rows carry the time the host observed it, not the time it was applied.
  const history = { append: (e: Parameters<typeof base.append>[0]) => base.append(observedAt ? { ...e, created_at: observedAt } : e) };
  async function lock(agentId: string): Promise<AgentStatusRow> {
    const row = await repo.lock(agentId);
    if (!row) throw new AgentNotFound(agentId);
    return row;
  }

  async function transitions(agentId: string, changes: ProcessChange[]): Promise<{ from: ProcessState; to: ProcessState; row: AgentStatusRow }> {
    const row = await lock(agentId);
    const first = row.process_status as ProcessState;
    let current = first;
    let set: StatusColumns = {};
    for (const change of changes) {
      if (mode === 'observed') {
        if (INTENT_EVENTS.has(change.event) && current === change.to) continue;
      } else if (!isProcessState(current) || !canTransition(current, change.to) || (change.from && !change.from.includes(current))) {
        throw new InvalidTransition(current, change.to, change.action);
      }
      await history.append({ agent_id: agentId, event_type: change.event, from_status: current, to_status: change.to, details: change.details });
      publish({ type: 'status.changed', agent_id: agentId, from: current as ProcessStatus, to: change.to as ProcessStatus, event_type: change.event, details: change.details });
      set = { ...set, ...change.set };
      current = change.to;
    }
    if (current !== first || Object.keys(set).length > 0) await repo.update(agentId, { process_status: current, ...set });
    return { from: first, to: current, row: { ...row, ...set, process_status: current } };
  }

  return {
    trx,
    lock,
    transitions,
    transition: (agentId: string, change: ProcessChange) => transitions(agentId, [change]),

    /** Health with its reasons; a change appends a history row and publishes health.changed. Answers the previous health when it changed. */
    async setHealth(agentId: string, to: HealthStatus, reasons: Array<Record<string, unknown>>, details: Record<string, unknown> = {}, metrics?: Record<string, number>): Promise<HealthStatus | undefined> {
      const row = await lock(agentId);
      const from = row.health_status as HealthStatus;
      await repo.update(agentId, { health_status: to, health_reasons: reasons });
      if (metrics && Object.keys(metrics).length > 0) await repo.mergeLatestMetrics([{ agentId, metrics }]);
      if (from === to) return undefined;
      await history.append({ agent_id: agentId, event_type: 'health_changed', from_status: from, to_status: to, details: { ...details, reasons } });
      publish({ type: 'health.changed', agent_id: agentId, from, to, reasons });
      return from;
    },

    async setRecovery(
      agentId: string,
      to: RecoveryStatus,
      event: StatusEventType,
      details: Record<string, unknown>,
      busEvent?: Extract<AmsEventInput, { type: `recovery.${string}` }>,
      state?: Record<string, unknown> | null,
    ): Promise<RecoveryStatus> {
      const row = await lock(agentId);
      const from = row.recovery_status as RecoveryStatus;
      await repo.update(agentId, { recovery_status: to, ...(state !== undefined ? { recovery_state: state } : {}) });
      await history.append({ agent_id: agentId, event_type: event, from_status: from, to_status: to, details });
      if (busEvent) publish(busEvent);
      return from;
    },

    /** A history row that changes no status (adoption, a config version applied), with columns to set and a bus event. */
    async note(agentId: string, event: StatusEventType, details: Record<string, unknown>, opts: NoteOptions = {}): Promise<void> {
      const row = await lock(agentId);
      if (opts.set) await repo.update(agentId, opts.set);
      const same = opts.statuses === 'process' ? row.process_status : opts.statuses === 'recovery' ? row.recovery_status : null;
      await history.append({ agent_id: agentId, event_type: event, from_status: same, to_status: same, details });
      if (opts.busEvent) publish(opts.busEvent);
    },

    /** Columns that are not statuses (the stable config version); no history. */
    async setColumns(agentId: string, set: StatusColumns & { recovery_state?: Record<string, unknown> | null }): Promise<void> {
      await repo.update(agentId, set);
    },
  };
}

export type StatusService = ReturnType<typeof createStatusService>;

export function createStatusService({ db, events }: { db: Database; events: EventBus }) {
  /** Runs `fn` in a transaction; its events are recorded with it and published once it committed. */
  async function inTransaction<T>(fn: (w: StatusWriter) => Promise<T>): Promise<T> {
    let published: () => void = () => undefined;
    const result = await db.knex.transaction(async (trx) => {
      const pending: AmsEventInput[] = [];
      const value = await fn(statusWriter(trx, (e) => pending.push(e)));
      published = await events.record(trx, pending);
      return value;
    });
    published();
    return result;
  }

  // Health changes requested in the same tick (the control plane's judge of agents that run on
  // their own) are written together, one statement per batch (an agent at most once per
  // statement: a repeat goes into the next round, in order).
  const healthWrites = new DataLoader<HealthWrite, HealthStatus | undefined>(
    async (writes) => {
      const answers = new Array<HealthStatus | undefined>(writes.length);
      let pending = writes.map((w, i) => ({ w, i }));
      while (pending.length > 0) {
        const seen = new Set<string>();
        const round: typeof pending = [];
        const later: typeof pending = [];
        for (const p of pending) {
          (seen.has(p.w.agentId) ? later : round).push(p);
          seen.add(p.w.agentId);
        }
        pending = later;
        const changed = await agentStatusRepo(db.knex).changeHealthMany(round.map(({ w }) => w));
        for (const { w, i } of round) answers[i] = changed.get(w.agentId) as HealthStatus | undefined;
      }
      return answers;
    },
    { cache: false, maxBatchSize: 1000 },
  );

  return {
    get: (agentId: string) => agentStatusRepo(db.knex).get(agentId),
    inTransaction,

    /** A process status change checked against the state machine; InvalidTransition (409) otherwise. */
    transition: (agentId: string, change: ProcessChange) => inTransaction((w) => w.transition(agentId, change)),
    /** Several process status changes in one transaction, each checked in turn. */
    transitions: (agentId: string, changes: ProcessChange[]) => inTransaction((w) => w.transitions(agentId, changes)),

    /** Health of an agent that runs on its own (batched); nothing is written when it is already `to`. */
    async setHealth(agentId: string, to: HealthStatus, reasons: Array<Record<string, unknown>>, details: Record<string, unknown> = {}): Promise<HealthStatus | undefined> {
      const from = await healthWrites.load({ agentId, to, details: { ...details, reasons } });
      if (from === undefined) return undefined;
      events.publish({ type: 'health.changed', agent_id: agentId, from, to, reasons });
      return from;
    },

    setRecovery: (
      agentId: string,
      to: RecoveryStatus,
      event: StatusEventType,
      details: Record<string, unknown>,
      busEvent?: Extract<AmsEventInput, { type: `recovery.${string}` }>,
    ) => inTransaction((w) => w.setRecovery(agentId, to, event, details, busEvent)),

    note: (agentId: string, event: StatusEventType, details: Record<string, unknown>, opts: NoteOptions = {}) => inTransaction((w) => w.note(agentId, event, details, opts)),

    async setColumns(agentId: string, set: StatusColumns): Promise<void> {
      await agentStatusRepo(db.knex).update(agentId, set);
    },

    /** What agents say about themselves (ingest): heartbeat time, uptime and status word, many at once. */
    recordReported: (entries: Parameters<ReturnType<typeof agentStatusRepo>['recordReported']>[0]) => agentStatusRepo(db.knex).recordReported(entries),

    async history(f: { agentId: string; from?: string; to?: string; eventType?: string; before?: { time: string; id: number }; limit: number }): Promise<Page<StatusHistoryView>> {
      const rows = await statusHistoryRepo(db.knex).list(f);
      return toPage(rows, f.limit, presentHistory, (r) => ({ t: r.created_at.toISOString(), i: Number(r.id) }));
    },
  };
}

export function presentHistory(r: StatusHistoryRow): StatusHistoryView {
  return {
    id: Number(r.id),
    agent_id: r.agent_id,
    event_type: r.event_type,
    from_status: r.from_status,
    to_status: r.to_status,
    details: r.details ?? {},
    created_at: r.created_at.toISOString(),
  };
}
