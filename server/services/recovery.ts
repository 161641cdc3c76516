// Recovery as the API shows it: each agent's policy (read, validated update), its recovery
// state (attempts of the latest episode, remaining budget, next attempt) and statistics per
// agent and fleet-wide (success and failure rate, mean and p95 time to recover, effectiveness
// per trigger and per action).
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { type AttemptRow, type AttemptStatsRow, recoveryRepo } from '../db/recovery.repo.js';
import { AgentNotFound } from '../errors.js';
import type { StatusService } from './status.js';
import type { LifecycleService } from './lifecycle.js';
import { DEFAULT_RECOVERY_POLICY } from '../domain/recovery-policy.js';
import type { RecoveryPolicy } from '../domain/recovery-policy.js';

export interface Effectiveness {
  attempts: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
}

export interface RecoveryStats extends Effectiveness {
  failure_rate: number | null;
  /** Episodes that ended in a recovery. */
  recoveries: number;
  mean_time_to_recover_s: number | null;
  p95_time_to_recover_s: number | null;
  last_recovery_at: string | null;
  by_trigger: Record<string, Effectiveness>;
  by_action: Record<string, Effectiveness>;
}

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);
const effectiveness = (r: AttemptStatsRow): Effectiveness => ({
  attempts: Number(r.attempts),
  succeeded: Number(r.succeeded),
  failed: Number(r.failed),
  success_rate: rate(Number(r.succeeded), Number(r.attempts)),
});
const secs = (v: number | null) => (v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 1000);

export type RecoveryService = ReturnType<typeof createRecoveryService>;

export interface StoredPolicy {
  policy: RecoveryPolicy;
  /** `default` until someone stores one for the agent. */
  source: 'default' | 'agent';
  updated_by: string | null;
  updated_at: string | null;
}

const FIELDS = Object.keys(DEFAULT_RECOVERY_POLICY) as Array<keyof RecoveryPolicy>;

/** An agent's recovery policy: its stored row, or the defaults. */
export async function loadPolicy(db: Database, agentId: string): Promise<StoredPolicy> {
  const row = await recoveryRepo(db.knex).policy(agentId);
  if (!row) return { policy: { ...DEFAULT_RECOVERY_POLICY, notification_channels: [] }, source: 'default', updated_by: null, updated_at: null };
  const policy = Object.fromEntries(
    FIELDS.map((f) => [f, f === 'notification_channels' ? [...(row[f] ?? [])] : f === 'auto_recovery' ? Boolean(row[f]) : Number.isFinite(row[f] as number) ? Number(row[f]) : row[f]]),
  ) as unknown as RecoveryPolicy;
  return { policy, source: 'agent', updated_by: row.updated_by, updated_at: row.updated_at.toISOString() };
}

export function createRecoveryService({ db, status, lifecycle, push }: { db: Database; status: StatusService; lifecycle: LifecycleService; push(agentIds: string[]): Promise<void> }) {
  async function requireAgent(agentId: string): Promise<void> {
    if (!(await agentsRepo(db.knex).exists(agentId))) throw new AgentNotFound(agentId);
  }

  async function stats(agentId?: string): Promise<RecoveryStats> {
    const repo = recoveryRepo(db.knex);
    const { overall, byTrigger, byAction } = await repo.attemptStats(agentId);
    const times = await repo.recoveryTimes(agentId);
    const all = effectiveness(overall ?? { key: null, attempts: 0, succeeded: 0, failed: 0 });
    return {
      ...all,
      failure_rate: rate(all.failed, all.attempts),
      recoveries: Number(times?.recoveries ?? 0),
      mean_time_to_recover_s: secs(times?.mean_s ?? null),
      p95_time_to_recover_s: secs(times?.p95_s ?? null),
      last_recovery_at: times?.last_recovery_at ? new Date(times.last_recovery_at).toISOString() : null,
      by_trigger: Object.fromEntries(byTrigger.map((r) => [r.key ?? 'unknown', effectiveness(r)])),
      by_action: Object.fromEntries(byAction.map((r) => [r.key ?? 'unknown', effectiveness(r)])),
    };
  }

  async function policy(agentId: string) {
    await requireAgent(agentId);
    const stored = await loadPolicy(db, agentId);
    return { agent_id: agentId, ...stored.policy, source: stored.source, updated_by: stored.updated_by, updated_at: stored.updated_at };
  }

  return {
    policy,

    async putPolicy(agentId: string, changes: Partial<RecoveryPolicy>, by: string) {
      await requireAgent(agentId);
      const before = (await loadPolicy(db, agentId)).policy;
      await recoveryRepo(db.knex).savePolicy(agentId, { ...before, ...changes }, by);
      await push([agentId]);
      return { before, view: await policy(agentId) };
    },

    async view(agentId: string) {
      await requireAgent(agentId);
      const row = await status.get(agentId);
      const { policy: p } = await loadPolicy(db, agentId);
      const recorded = (row?.recovery_state ?? null) as { in_progress?: boolean; attempts_made?: number; next_attempt_at?: string | null; episode_started_at?: string | null; trigger?: string | null } | null;
      // The host's view as of its last recovery observation; an episode counts as running only while the status says so.
      const inProgress = row?.recovery_status === 'in_progress' && Boolean(recorded?.in_progress);
      const attempts = await recoveryRepo(db.knex).latestEpisode(agentId);
      const startable = await lifecycle.requireStartable(agentId).then(
        () => true,
        () => false,
      );
      return {
        agent_id: agentId,
        recovery_status: row?.recovery_status ?? 'none',
        can_recover: !inProgress && startable,
        in_progress: inProgress,
        trigger: (recorded?.trigger as never) ?? null,
        episode_started_at: recorded?.episode_started_at ?? null,
        attempts: attempts.map(presentAttempt),
        remaining: Math.max(0, p.max_retries - (recorded?.attempts_made ?? 0)),
        next_attempt_at: inProgress ? (recorded?.next_attempt_at ?? null) : null,
        policy: p,
        stats: await stats(agentId),
      };
    },

    agentStats: async (agentId: string) => {
      await requireAgent(agentId);
      return stats(agentId);
    },
    fleetStats: async () => ({ ...(await stats()), generated_at: new Date().toISOString() }),
  };
}

export function presentAttempt(a: AttemptRow) {
  return {
    id: Number(a.id),
    attempt_number: a.attempt_number,
    recovery_strategy: a.recovery_strategy,
    status: a.status,
    error: a.error,
    trigger: a.trigger,
    started_at: a.started_at.toISOString(),
    completed_at: a.completed_at ? a.completed_at.toISOString() : null,
    details: a.details ?? {},
  };
}
