// agent_status: the one row of current status per agent (process, health, recovery, pid,
// exit, config version in force). Written only through the status service.
import type { Queryable } from './agents.repo.js';

export interface AgentStatusRow {
  agent_id: string;
  process_status: string;
  health_status: string;
  recovery_status: string;
  pid: number | null;
  start_time: Date | null;
  last_heartbeat: Date | null;
  last_error: string | null;
  reported_status: string | null;
  reported_detail: string | null;
  uptime_s: number | null;
  exit_code: number | null;
  exit_signal: string | null;
  config_version: number | null;
  config_since: Date | null;
  stable_config_version: number | null;
  /** Why the health is what it is (the supervisor's reasons). */
  health_reasons: Array<Record<string, unknown>>;
  /** The process was found running at a supervisor's start rather than started by it. */
  adopted: boolean;
  /** The newest value of each resource sample and reported metric. */
  latest_metrics: Record<string, number>;
  /** The supervisor's recovery episode, as of its last recovery observation. */
  recovery_state: Record<string, unknown> | null;
  updated_at: Date;
}

/** Columns a status change may set besides the status itself. */
export type StatusColumns = Partial<
  Pick<AgentStatusRow, 'pid' | 'start_time' | 'last_error' | 'exit_code' | 'exit_signal' | 'config_version' | 'config_since' | 'stable_config_version' | 'adopted' | 'recovery_state'>
>;

export interface StatusCountRow {
  process_status: string;
  health_status: string;
  recovery_status: string;
  n: number;
}

export function agentStatusRepo(q: Queryable) {
  return {
    get: (agentId: string): Promise<AgentStatusRow | undefined> => q('agent_status').where('agent_id', agentId).first(),

    /** The row, locked until the transaction ends (status changes of one agent are serialized). */
    lock: (agentId: string): Promise<AgentStatusRow | undefined> => q('agent_status').where('agent_id', agentId).forUpdate().first(),

    async update(
      agentId: string,
      values: Partial<Pick<AgentStatusRow, 'process_status' | 'health_status' | 'recovery_status'>> & StatusColumns & { health_reasons?: unknown[] },
    ): Promise<void> {
      const row: Record<string, unknown> = { ...values, updated_at: q.fn.now(3) };
      if (values.health_reasons !== undefined) row.health_reasons = JSON.stringify(values.health_reasons);
      if (values.recovery_state !== undefined) row.recovery_state = values.recovery_state === null ? null : JSON.stringify(values.recovery_state);
      await q('agent_status').where('agent_id', agentId).update(row);
    },

    /**
     * What agents reported about themselves (heartbeat time, uptime, status word), for many agents
     * in one statement; null leaves a column as it is.
     */
    async recordReported(entries: Array<{ agentId: string; heartbeatAt: Date | null; uptime: number | null; status: string | null; detail: string | null }>): Promise<void> {
      if (entries.length === 0) return;
      const values = entries.map(() => '(?, ?::timestamptz, ?::float8, ?, ?)').join(', ');
      const bindings = entries.flatMap((e) => [e.agentId, e.heartbeatAt?.toISOString() ?? null, e.uptime, e.status, e.detail]);
      await q.raw(
        `UPDATE agent_status AS s SET
           last_heartbeat = COALESCE(v.t, s.last_heartbeat),
           uptime_s = COALESCE(v.u, s.uptime_s),
           reported_status = COALESCE(v.r, s.reported_status),
           reported_detail = CASE WHEN v.r IS NULL THEN s.reported_detail ELSE v.d END,
           updated_at = now()
         FROM (VALUES ${values}) AS v(id, t, u, r, d)
         WHERE s.agent_id = v.id`,
        bindings,
      );
    },

    /** Merges the newest metric values of several agents into latest_metrics, one statement. */
    async mergeLatestMetrics(values: Array<{ agentId: string; metrics: Record<string, number> }>): Promise<void> {
      if (values.length === 0) return;
      await q.raw(
        `UPDATE agent_status s SET latest_metrics = s.latest_metrics || v.m
           FROM jsonb_to_recordset(?::jsonb) AS v(agent_id text, m jsonb)
          WHERE s.agent_id = v.agent_id`,
        [JSON.stringify(values.map((v) => ({ agent_id: v.agentId, m: v.metrics })))],
      );
    },

    /**
     * Sets the health of several agents (each at most once) and appends their history rows in
     * one statement: health changes come in bursts (an AMS start, many agents going quiet at
     * once). Answers the previous health of each agent that changed; an agent already at its
     * `to`, or unknown, is left out (nothing written).
     */
    async changeHealthMany(changes: Array<{ agentId: string; to: string; details: Record<string, unknown> }>): Promise<Map<string, string>> {
      if (changes.length === 0) return new Map();
      const input = changes.map((c) => ({ agent_id: c.agentId, to_status: c.to, details: c.details }));
      const result = await q.raw(
        // The previous health comes from a self-join read with the statement's snapshot (a
        // FOR UPDATE CTE would skip rows this same statement updates).
        `WITH input AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(agent_id text, to_status text, details jsonb)),
              upd AS (UPDATE agent_status s SET health_status = i.to_status, updated_at = now()
                        FROM input i, agent_status old
                       WHERE s.agent_id = i.agent_id AND old.agent_id = s.agent_id AND s.health_status <> i.to_status
                      RETURNING s.agent_id, old.health_status AS from_status, i.to_status, i.details)
         INSERT INTO agent_status_history (agent_id, event_type, from_status, to_status, details)
         SELECT agent_id, 'health_changed', from_status, to_status, details FROM upd
         RETURNING agent_id, from_status`,
        [JSON.stringify(input)],
      );
      return new Map((result.rows as Array<{ agent_id: string; from_status: string }>).map((r) => [r.agent_id, r.from_status]));
    },

    /** Agents in any of `statuses` (for adoption and autostart at start). */
    withProcessStatus: (statuses: string[]): Promise<AgentStatusRow[]> => q('agent_status').whereIn('process_status', statuses).select('*'),

    withRecoveryStatus: (status: string): Promise<AgentStatusRow[]> => q('agent_status').where('recovery_status', status).select('*'),

    /** Agents that have heartbeated at some time (the health monitor picks them up at start). */
    heard: (): Promise<Array<Pick<AgentStatusRow, 'agent_id' | 'last_heartbeat' | 'health_status' | 'process_status' | 'start_time'>>> =>
      q('agent_status').whereNotNull('last_heartbeat').select('agent_id', 'last_heartbeat', 'health_status', 'process_status', 'start_time'),

    /** Counts by the three statuses, overall, per agent type, and per label. */
    async counts(): Promise<{
      all: StatusCountRow[];
      byType: Array<StatusCountRow & { agent_type: string }>;
      byLabel: Array<StatusCountRow & { label: string }>;
    }> {
      const cols = ['s.process_status', 's.health_status', 's.recovery_status'];
      const all = await q('agent_status as s').select(cols).count({ n: '*' }).groupBy(cols);
      const byType = await q('agent_status as s')
        .join('agents as a', 'a.id', 's.agent_id')
        .select(['a.type as agent_type', ...cols])
        .count({ n: '*' })
        .groupBy(['a.type', ...cols]);
      const byLabel = await q
        .from(q.raw('agent_status AS s JOIN agents AS a ON a.id = s.agent_id CROSS JOIN LATERAL jsonb_each_text(a.labels) AS l(key, value)'))
        .select([q.raw("l.key || ':' || l.value AS label"), ...cols])
        .count({ n: '*' })
        .groupByRaw("l.key || ':' || l.value, s.process_status, s.health_status, s.recovery_status");
      const num = (rows: Array<Record<string, unknown>>) => rows.map((r) => ({ ...r, n: Number(r.n) }));
      return { all: num(all) as StatusCountRow[], byType: num(byType) as never, byLabel: num(byLabel) as never };
    },
  };
}
