// agent_recovery_policies and agent_recovery_attempts: each agent's recovery policy and every
// recovery attempt with its trigger, strategy, outcome and timing.
import type { RecoveryPolicy } from '../domain/recovery-policy.js';
import type { Queryable } from './agents.repo.js';

export interface PolicyRow extends RecoveryPolicy {
  agent_id: string;
  updated_by: string;
  updated_at: Date;
}

export interface AttemptRow {
  id: number;
  agent_id: string;
  attempt_number: number;
  recovery_strategy: string;
  status: string;
  error: string | null;
  trigger: string | null;
  started_at: Date;
  completed_at: Date | null;
  episode_started_at: Date | null;
  details: Record<string, unknown> | null;
}

export interface NewAttempt {
  agent_id: string;
  attempt_number: number;
  recovery_strategy: string;
  trigger: string;
  started_at: Date;
  episode_started_at: Date;
  details: Record<string, unknown>;
}

/** Aggregates of finished attempts, by whatever the caller groups on. */
export interface AttemptStatsRow {
  key: string | null;
  attempts: number;
  succeeded: number;
  failed: number;
}

export interface RecoveryTimesRow {
  recoveries: number;
  mean_s: number | null;
  p95_s: number | null;
  last_recovery_at: Date | null;
}

export function recoveryRepo(q: Queryable) {
  const scoped = (table: string, agentId?: string) => (agentId ? q(table).where('agent_id', agentId) : q(table));
  return {
    policy: (agentId: string): Promise<PolicyRow | undefined> => q('agent_recovery_policies').where('agent_id', agentId).first(),

    async savePolicy(agentId: string, policy: RecoveryPolicy, by: string): Promise<void> {
      const row = { ...policy, notification_channels: JSON.stringify(policy.notification_channels), agent_id: agentId, updated_by: by };
      await q('agent_recovery_policies')
        .insert(row)
        .onConflict('agent_id')
        .merge({ ...row, updated_at: q.fn.now(3) });
    },

    async insertAttempt(a: NewAttempt): Promise<number> {
      const [row] = await q('agent_recovery_attempts')
        .insert({ ...a, status: 'in_progress', details: JSON.stringify(a.details) })
        .returning('id');
      return (row as { id: number }).id;
    },

    /** Records an attempt a supervisor started; the same key twice is the same attempt. */
    async insertAttemptKeyed(a: NewAttempt & { key: string }): Promise<void> {
      const { key, ...row } = a;
      await q('agent_recovery_attempts')
        .insert({ ...row, attempt_key: key, status: 'in_progress', details: JSON.stringify(row.details) })
        .onConflict('attempt_key')
        .ignore();
    },

    async finishAttemptKeyed(key: string, status: 'succeeded' | 'failed' | 'cancelled', error: string | null, details?: Record<string, unknown>): Promise<void> {
      const values: Record<string, unknown> = { status, error, completed_at: q.fn.now(3) };
      if (details) values.details = q.raw("COALESCE(details, '{}'::jsonb) || ?::jsonb", [JSON.stringify(details)]);
      await q('agent_recovery_attempts').where('attempt_key', key).where('status', 'in_progress').update(values);
    },

    /** Attempts a host's earlier supervisor left in progress: they failed with it. */
    async failUnfinishedOfHost(hostId: string, error: string): Promise<string[]> {
      const rows = await q('agent_recovery_attempts')
        .where('status', 'in_progress')
        .whereIn('agent_id', q('agents').where('host_id', hostId).select('id'))
        .update({ status: 'failed', error, completed_at: q.fn.now(3) })
        .returning('agent_id');
      return [...new Set(rows.map((r: { agent_id: string }) => r.agent_id))];
    },

    async finishAttempt(id: number, status: 'succeeded' | 'failed' | 'cancelled', error: string | null, details?: Record<string, unknown>): Promise<void> {
      const values: Record<string, unknown> = { status, error, completed_at: q.fn.now(3) };
      if (details) values.details = q.raw("COALESCE(details, '{}'::jsonb) || ?::jsonb", [JSON.stringify(details)]);
      await q('agent_recovery_attempts').where('id', id).update(values);
    },

    /** Attempts still marked in progress (an AMS that stopped in the middle of one). */
    unfinished: (): Promise<AttemptRow[]> => q('agent_recovery_attempts').where('status', 'in_progress').select('*'),

    /** The attempts of the agent's latest episode, in order. */
    async latestEpisode(agentId: string): Promise<AttemptRow[]> {
      const last = await q('agent_recovery_attempts').where('agent_id', agentId).orderBy('id', 'desc').first('episode_started_at');
      if (!last) return [];
      return q('agent_recovery_attempts')
        .where({ agent_id: agentId, episode_started_at: last.episode_started_at })
        .orderBy('attempt_number')
        .select('*');
    },

    /** Finished attempts grouped by trigger, by strategy, and overall. */
    async attemptStats(agentId?: string): Promise<{ overall: AttemptStatsRow; byTrigger: AttemptStatsRow[]; byAction: AttemptStatsRow[] }> {
      const sums = [
        q.raw('count(*)::int AS attempts'),
        q.raw("count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded"),
        q.raw("count(*) FILTER (WHERE status = 'failed')::int AS failed"),
      ];
      const finished = (key?: string) => {
        const query = scoped('agent_recovery_attempts', agentId).whereIn('status', ['succeeded', 'failed']);
        return key ? query.select(q.raw(`${key} AS key`), ...sums).groupBy(key) : query.select(q.raw('NULL AS key'), ...sums);
      };
      const [overall] = (await finished()) as AttemptStatsRow[];
      return { overall, byTrigger: (await finished('trigger')) as AttemptStatsRow[], byAction: (await finished('recovery_strategy')) as AttemptStatsRow[] };
    },

    /** Time from the failure that opened an episode to the attempt that recovered it. */
    async recoveryTimes(agentId?: string): Promise<RecoveryTimesRow> {
      const [row] = await scoped('agent_recovery_attempts', agentId)
        .where('status', 'succeeded')
        .whereNotNull('episode_started_at')
        .select(
          q.raw('count(*)::int AS recoveries'),
          q.raw('avg(extract(epoch FROM completed_at - episode_started_at))::float8 AS mean_s'),
          q.raw('percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - episode_started_at))::float8 AS p95_s'),
          q.raw('max(completed_at) AS last_recovery_at'),
        );
      return row as RecoveryTimesRow;
    },
  };
}
