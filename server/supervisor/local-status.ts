// The supervisor's side of the status service: the same calls (transition, health, recovery,
// note), checked against the supervisor's own view of each agent, recorded as observations in
// the journal (published to the control plane, which applies them to the database). Nothing
// here waits for the network: a crash is restarted without any round trip.
import type { AgentSpec, ProcessChangeWire, RecoveryStateWire, StatusSet } from '../broker/host-protocol.js';
import { AgentNotFound } from '../errors.js';
import type { AmsEventInput, HealthStatus } from '../events/bus.js';
import { canTransition, isProcessState, type ProcessState } from '../domain/state-machine.js';
import type { RecoveryState } from '../domain/statuses.js';
import { InvalidTransition } from '../domain/lifecycle-errors.js';
import type { Journal } from './journal.js';

/** What the supervisor believes of one agent's status. */
export interface LocalStatusRow {
  agent_id: string;
  process_status: ProcessState;
  health_status: HealthStatus;
  recovery_status: RecoveryState;
  pid: number | null;
  start_time: Date | null;
  last_error: string | null;
  exit_code: number | null;
  exit_signal: string | null;
  config_version: number | null;
  config_since: Date | null;
  stable_config_version: number | null;
}

export interface LocalColumns {
  pid?: number | null;
  start_time?: Date | null;
  last_error?: string | null;
  exit_code?: number | null;
  exit_signal?: string | null;
  config_version?: number | null;
  config_since?: Date | null;
  stable_config_version?: number | null;
  adopted?: boolean;
  recovery_state?: Record<string, unknown> | null;
}

export interface LocalProcessChange {
  to: ProcessState;
  event: string;
  details: Record<string, unknown>;
  set?: LocalColumns;
  from?: readonly ProcessState[];
  action?: string;
}

const toWire = (set: LocalColumns | undefined): StatusSet | undefined => {
  if (!set) return undefined;
  const out: StatusSet = {};
  for (const [k, v] of Object.entries(set)) (out as Record<string, unknown>)[k] = v instanceof Date ? v.toISOString() : v;
  return out;
};
const date = (s: string | null) => (s ? new Date(s) : null);

export type LocalStatus = ReturnType<typeof createLocalStatus>;

export function createLocalStatus({ journal }: { journal: Pick<Journal, 'emit'> }) {
  const rows = new Map<string, LocalStatusRow>();
  let metricsOf: (agentId: string) => Record<string, number> | undefined = () => undefined;
  let recoveryState: (agentId: string) => RecoveryStateWire = () => ({ in_progress: false, attempts_made: 0, next_attempt_at: null, exhausted: false, episode_started_at: null, trigger: null });

  function require(agentId: string): LocalStatusRow {
    const row = rows.get(agentId);
    if (!row) throw new AgentNotFound(agentId);
    return row;
  }
  const apply = (row: LocalStatusRow, set: LocalColumns | undefined) => {
    if (!set) return;
    for (const [k, v] of Object.entries(set)) if (k !== 'adopted' && k !== 'recovery_state') (row as unknown as Record<string, unknown>)[k] = v;
  };

  return {
    /** Where the newest values of an agent come from (sent with every health change). */
    setMetricsSource(fn: (agentId: string) => Record<string, number> | undefined): void {
      metricsOf = fn;
    },

    /** Where the engine's view of an episode comes from (it is sent with every recovery change). */
    setRecoveryStateSource(fn: (agentId: string) => RecoveryStateWire): void {
      recoveryState = fn;
    },

    /** Takes the control plane's record for an agent the supervisor knows nothing of yet. */
    seed(spec: AgentSpec): LocalStatusRow {
      const known = rows.get(spec.agent_id);
      if (known) return known;
      const s = spec.status;
      const row: LocalStatusRow = {
        agent_id: spec.agent_id,
        process_status: s.process_status,
        health_status: s.health_status,
        recovery_status: s.recovery_status,
        pid: s.pid,
        start_time: date(s.start_time),
        last_error: null,
        exit_code: null,
        exit_signal: null,
        config_version: s.config_version,
        config_since: date(s.config_since),
        stable_config_version: s.stable_config_version,
      };
      rows.set(spec.agent_id, row);
      return row;
    },

    known: (agentId: string) => rows.has(agentId),
    forget: (agentId: string) => rows.delete(agentId),
    all: () => [...rows.values()],

    get: async (agentId: string): Promise<LocalStatusRow | undefined> => rows.get(agentId),

    /** Process changes in order, each checked against the state machine; one observation for all. */
    async transitions(agentId: string, changes: LocalProcessChange[], credentials?: { public_key: string; start_id: string }): Promise<{ from: ProcessState; to: ProcessState; row: LocalStatusRow }> {
      const row = require(agentId);
      const first = row.process_status;
      let current = first;
      for (const change of changes) {
        if (!isProcessState(current) || !canTransition(current, change.to) || (change.from && !change.from.includes(current))) {
          throw new InvalidTransition(current, change.to, change.action);
        }
        current = change.to;
      }
      const wire: ProcessChangeWire[] = changes.map((c) => ({ to: c.to, event: c.event, details: c.details, ...(c.set ? { set: toWire(c.set) } : {}) }));
      journal.emit('status.process', { agent_id: agentId, changes: wire, ...(credentials ? { credentials } : {}) });
      for (const c of changes) apply(row, c.set);
      row.process_status = current;
      return { from: first, to: current, row: { ...row } };
    },

    transition(agentId: string, change: LocalProcessChange) {
      return this.transitions(agentId, [change]);
    },

    /** Health with its reasons; answers the previous health when it changed (reasons alone are sent too). */
    async setHealth(agentId: string, to: HealthStatus, reasons: Array<Record<string, unknown>>, details: Record<string, unknown> = {}): Promise<HealthStatus | undefined> {
      const row = rows.get(agentId);
      if (!row) return undefined;
      const from = row.health_status;
      row.health_status = to;
      const metrics = metricsOf(agentId);
      journal.emit('status.health', { agent_id: agentId, to, reasons, details, ...(metrics ? { metrics } : {}) });
      return from === to ? undefined : from;
    },

    async setRecovery(agentId: string, to: RecoveryState, event: string, details: Record<string, unknown>, busEvent?: AmsEventInput): Promise<RecoveryState> {
      const row = require(agentId);
      const from = row.recovery_status;
      row.recovery_status = to;
      journal.emit('status.recovery', { agent_id: agentId, to, event, details, ...(busEvent ? { bus_event: busEvent as never } : {}), state: recoveryState(agentId) });
      return from;
    },

    async note(agentId: string, event: string, details: Record<string, unknown>, opts: { set?: LocalColumns; busEvent?: AmsEventInput; statuses?: 'process' | 'recovery' } = {}): Promise<void> {
      const row = require(agentId);
      apply(row, opts.set);
      journal.emit('status.note', {
        agent_id: agentId, event, details,
        ...(opts.set ? { set: toWire(opts.set) } : {}),
        ...(opts.statuses ? { statuses: opts.statuses } : {}),
        ...(opts.busEvent ? { bus_event: opts.busEvent as never } : {}),
      });
    },

    async setColumns(agentId: string, set: LocalColumns): Promise<void> {
      const row = rows.get(agentId);
      if (!row) return;
      apply(row, set);
      journal.emit('status.columns', { agent_id: agentId, set: toWire(set)! });
    },
  };
}
