// The status service: the ONLY writer of an agent's process, health and recovery status.
// Each change checks the state machine, updates agent_status, appends one history row whose
// details name the cause, and (after the transaction commits) publishes the bus event.
import DataLoader from 'dataloader';
import type { Knex } from 'knex';
import type { Database } from '../db/database.js';
import { agentStatusRepo, type AgentStatusRow, type StatusColumns } from '../db/agent-status.repo.js';
import { statusHistoryRepo, type StatusHistoryRow } from '../db/status-history.repo.js';
import { AgentNotFound } from '../errors.js';
import type { AmsEventInput, EventBus, HealthStatus, ProcessStatus } from '../events/bus.js';
import { canTransition, isProcessState, type ProcessState } from '../domain/state-machine.js';
import { InvalidTransition } from '../domain/lifecycle-errors.js';
import { type Page, toPage } from '../http/cursor.js';

/** Event types of status history rows (the contract in notes/common.md). */
export const STATUS_EVENT_TYPES = [
  'discovered', 'registered', 'start_requested', 'process_started', 'stop_requested', 'process_stopped', 'process_exited',
  'degraded', 'recovered', 'health_changed', 'recovery_attempt', 'recovery_succeeded', 'recovery_failed', 'recovery_escalated',
  'recovery_cancelled', 'config_applied', 'config_rejected', 'config_rolled_back', 'adopted', 'orphan_stopped',
] as const;
export type StatusEventType = (typeof STATUS_EVENT_TYPES)[number];

export type RecoveryStatus = 'none' | 'in_progress' | 'success' | 'failed';

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

export type StatusService = ReturnType<typeof createStatusService>;

export function createStatusService({ db, events }: { db: Database; events: EventBus }) {
  // Health changes requested in the same tick are written together, one statement per batch
  // (an agent at most once per statement: a repeat goes into the next round, in order).
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

  /** Runs `fn` on the agent's locked status row; publishes `publish` only once the transaction committed. */
  async function withRow<T>(agentId: string, fn: (row: AgentStatusRow, trx: Knex.Transaction, publish: (e: AmsEventInput) => void) => Promise<T>): Promise<T> {
    const pending: AmsEventInput[] = [];
    const result = await db.knex.transaction(async (trx) => {
      const row = await agentStatusRepo(trx).lock(agentId);
      if (!row) throw new AgentNotFound(agentId);
      return fn(row, trx, (e) => pending.push(e));
    });
    for (const e of pending) events.publish(e);
    return result;
  }

  return {
    get: (agentId: string) => agentStatusRepo(db.knex).get(agentId),

    /** A process status change checked against the state machine; InvalidTransition (409) otherwise. */
    transition(agentId: string, change: ProcessChange): Promise<{ from: ProcessState; to: ProcessState; row: AgentStatusRow }> {
      return withRow(agentId, async (row, trx, publish) => {
        const from = row.process_status as ProcessState;
        if (!isProcessState(from) || !canTransition(from, change.to) || (change.from && !change.from.includes(from))) {
          throw new InvalidTransition(from, change.to, change.action);
        }
        await agentStatusRepo(trx).update(agentId, { process_status: change.to, ...change.set });
        await statusHistoryRepo(trx).append({ agent_id: agentId, event_type: change.event, from_status: from, to_status: change.to, details: change.details });
        publish({ type: 'status.changed', agent_id: agentId, from: from as ProcessStatus, to: change.to as ProcessStatus, event_type: change.event, details: change.details });
        return { from, to: change.to, row: { ...row, ...change.set, process_status: change.to } };
      });
    },

    /**
     * Several process status changes in one transaction, each checked against the state machine
     * in turn (a start recorded once its process runs: start_requested, then process_started).
     */
    transitions(agentId: string, changes: ProcessChange[]): Promise<{ from: ProcessState; to: ProcessState; row: AgentStatusRow }> {
      return withRow(agentId, async (row, trx, publish) => {
        const first = row.process_status as ProcessState;
        let current = first;
        let set: StatusColumns = {};
        for (const change of changes) {
          if (!isProcessState(current) || !canTransition(current, change.to) || (change.from && !change.from.includes(current))) {
            throw new InvalidTransition(current, change.to, change.action);
          }
          await statusHistoryRepo(trx).append({ agent_id: agentId, event_type: change.event, from_status: current, to_status: change.to, details: change.details });
          publish({ type: 'status.changed', agent_id: agentId, from: current as ProcessStatus, to: change.to as ProcessStatus, event_type: change.event, details: change.details });
          set = { ...set, ...change.set };
          current = change.to;
        }
        await agentStatusRepo(trx).update(agentId, { process_status: current, ...set });
        return { from: first, to: current, row: { ...row, ...set, process_status: current } };
      });
    },

    /** Health change with its reasons; nothing is written when the health is already `to`. */
    async setHealth(agentId: string, to: HealthStatus, reasons: Array<Record<string, unknown>>, details: Record<string, unknown> = {}): Promise<HealthStatus | undefined> {
      const from = await healthWrites.load({ agentId, to, details: { ...details, reasons } });
      if (from === undefined) return undefined;
      events.publish({ type: 'health.changed', agent_id: agentId, from, to, reasons });
      return from;
    },

    /** Recovery status change (or a row in the same status, e.g. attempt 2 of 3) and its recovery.* event. */
    setRecovery(
      agentId: string,
      to: RecoveryStatus,
      event: StatusEventType,
      details: Record<string, unknown>,
      busEvent?: Extract<AmsEventInput, { type: `recovery.${string}` }>,
    ): Promise<RecoveryStatus> {
      return withRow(agentId, async (row, trx, publish) => {
        const from = row.recovery_status as RecoveryStatus;
        await agentStatusRepo(trx).update(agentId, { recovery_status: to });
        await statusHistoryRepo(trx).append({ agent_id: agentId, event_type: event, from_status: from, to_status: to, details });
        if (busEvent) publish(busEvent);
        return from;
      });
    },

    /**
     * A history row that changes no status (adoption, a config version applied), with columns
     * to set and the bus event to publish.
     */
    note(
      agentId: string,
      event: StatusEventType,
      details: Record<string, unknown>,
      opts: { set?: StatusColumns; busEvent?: AmsEventInput; statuses?: 'process' | 'recovery' } = {},
    ): Promise<void> {
      return withRow(agentId, async (row, trx, publish) => {
        if (opts.set) await agentStatusRepo(trx).update(agentId, opts.set);
        const same = opts.statuses === 'process' ? row.process_status : opts.statuses === 'recovery' ? row.recovery_status : null;
        await statusHistoryRepo(trx).append({ agent_id: agentId, event_type: event, from_status: same, to_status: same, details });
        if (opts.busEvent) publish(opts.busEvent);
      });
    },

    /** Columns that are not statuses (the stable config version); no history. */
    async setColumns(agentId: string, set: StatusColumns): Promise<void> {
      await agentStatusRepo(db.knex).update(agentId, set);
    },

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
