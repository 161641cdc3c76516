// Silences: an operator mutes the notifications of an agent, a rule, or a rule of one agent for
// a while, with a reason. A silenced alert is still raised, stored and published (it shows in
// the console, marked with its silence); only the sending to channels is skipped. A silence
// expires by itself at its end time; ending it early keeps it as history.
import type { Database } from '../db/database.js';
import { alertSilencesRepo, type SilenceRow } from '../db/alert-silences.repo.js';
import type { Queryable } from '../db/agents.repo.js';
import { Conflict, NotFound, ValidationFailed } from '../errors.js';
import { type Page, toPage } from '../http/cursor.js';
import type { EventBus } from '../events/bus.js';

export type SilenceState = 'active' | 'expired' | 'ended' | 'pending';

export interface SilenceView {
  id: number;
  agent_id: string | null;
  rule: string | null;
  reason: string;
  created_by: string;
  created_at: string;
  starts_at: string;
  ends_at: string;
  ended_at: string | null;
  ended_by: string | null;
  state: SilenceState;
}

/** The shortest and longest silence. */
export const MIN_SILENCE_S = 60;
export const MAX_SILENCE_S = 90 * 86_400;

export function silenceState(r: Pick<SilenceRow, 'starts_at' | 'ends_at' | 'ended_at'>, now: Date): SilenceState {
  if (r.ended_at) return 'ended';
  if (r.ends_at.getTime() <= now.getTime()) return 'expired';
  if (r.starts_at.getTime() > now.getTime()) return 'pending';
  return 'active';
}

export function presentSilence(r: SilenceRow, now = new Date()): SilenceView {
  return {
    id: Number(r.id),
    agent_id: r.agent_id,
    rule: r.rule,
    reason: r.reason,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
    starts_at: r.starts_at.toISOString(),
    ends_at: r.ends_at.toISOString(),
    ended_at: r.ended_at ? r.ended_at.toISOString() : null,
    ended_by: r.ended_by,
    state: silenceState(r, now),
  };
}

export class SilenceNotFound extends NotFound {
  constructor(id: number) {
    super('silence_not_found', `Silence ${id} does not exist`);
  }
}

export interface SilenceInput {
  agent_id?: string | null;
  rule?: string | null;
  reason: string;
  /** Seconds from now; or `ends_at`. */
  duration_s?: number;
  ends_at?: string;
}

export type SilenceService = ReturnType<typeof createSilenceService>;

export function createSilenceService(deps: { db: Database; events: EventBus; agentExists: (id: string) => Promise<boolean>; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  const publish = (type: 'alert.silence.created' | 'alert.silence.ended', view: SilenceView) =>
    deps.events.publish({ type, agent_id: view.agent_id, silence: { ...view } });

  return {
    /** The active silence an alert of `rule` about `agentId` falls under, if any. */
    async matching(agentId: string | null, rule: string, q: Queryable = deps.db.knex): Promise<SilenceView | undefined> {
      const at = now();
      const row = await alertSilencesRepo(q).matching(agentId, rule, at);
      return row && presentSilence(row, at);
    },

    async create(input: SilenceInput, by: string): Promise<SilenceView> {
      const at = now();
      const issues = [];
      if (!input.agent_id && !input.rule) issues.push({ path: 'agent_id', reason: 'name an agent, a rule, or both (a silence of everything is not allowed)', in: 'body' as const });
      if (input.agent_id && !(await deps.agentExists(input.agent_id))) issues.push({ path: 'agent_id', reason: 'no such agent', in: 'body' as const });
      if ((input.duration_s === undefined) === (input.ends_at === undefined)) issues.push({ path: 'duration_s', reason: 'give either duration_s or ends_at', in: 'body' as const });
      const endsAt = input.ends_at !== undefined ? new Date(input.ends_at) : new Date(at.getTime() + (input.duration_s ?? 0) * 1000);
      const span = (endsAt.getTime() - at.getTime()) / 1000;
      if (input.ends_at !== undefined && (span < MIN_SILENCE_S || span > MAX_SILENCE_S)) {
        issues.push({ path: 'ends_at', reason: `must be between ${MIN_SILENCE_S} s and ${MAX_SILENCE_S / 86_400} days from now`, in: 'body' as const });
      }
      if (issues.length > 0) throw new ValidationFailed(issues);
      const row = await alertSilencesRepo(deps.db.knex).insert({
        agent_id: input.agent_id ?? null,
        rule: input.rule ?? null,
        reason: input.reason,
        created_by: by,
        starts_at: at,
        ends_at: endsAt,
      });
      const view = presentSilence(row, at);
      publish('alert.silence.created', view);
      return view;
    },

    /** Ends an active silence now; 409 when it has ended or expired already. */
    async end(id: number, by: string): Promise<{ before: SilenceView; after: SilenceView }> {
      const at = now();
      const result = await deps.db.knex.transaction(async (trx) => {
        const repo = alertSilencesRepo(trx);
        const row = await repo.byIdForUpdate(id);
        if (!row) throw new SilenceNotFound(id);
        const state = silenceState(row, at);
        if (state === 'ended' || state === 'expired') {
          throw new Conflict(`silence_${state}`, `Silence ${id} ${state === 'ended' ? `was ended by ${row.ended_by ?? 'someone'} at ${row.ended_at?.toISOString()}` : `expired at ${row.ends_at.toISOString()}`}`, {
            state,
          });
        }
        return { before: presentSilence(row, at), after: presentSilence(await repo.end(id, by, at), at) };
      });
      publish('alert.silence.ended', result.after);
      return result;
    },

    async get(id: number): Promise<SilenceView> {
      const row = await alertSilencesRepo(deps.db.knex).byId(id);
      if (!row) throw new SilenceNotFound(id);
      return presentSilence(row, now());
    },

    async list(f: { state: 'active' | 'inactive' | 'all'; agentId?: string; rule?: string; beforeId?: number; limit: number }): Promise<Page<SilenceView>> {
      const at = now();
      const rows = await alertSilencesRepo(deps.db.knex).list({ ...f, now: at });
      return toPage(rows, f.limit, (r) => presentSilence(r, at), (r) => ({ i: Number(r.id) }));
    },
  };
}
