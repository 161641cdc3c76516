// Recovery as the API shows it: each agent's policy (read, validated update), its recovery
// state (attempts of the latest episode, remaining budget, next attempt) and statistics per
// agent and fleet-wide (success and failure rate, mean and p95 time to recover, effectiveness
// per trigger and per action).
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { type AttemptStatsRow, recoveryRepo } from '../db/recovery.repo.js';
import { AgentNotFound } from '../errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { StatusService } from './status.js';
import { presentAttempt } from '../supervisor/recovery-engine.js';
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

export function createRecoveryService({ db, supervisor, status }: { db: Database; supervisor: Supervisor; status: StatusService }) {
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
    const stored = await supervisor.policies.load(agentId);
    return { agent_id: agentId, ...stored.policy, source: stored.source, updated_by: stored.updated_by, updated_at: stored.updated_at };
  }

  return {
    policy,

    async putPolicy(agentId: string, changes: Partial<RecoveryPolicy>, by: string) {
      await requireAgent(agentId);
      const { before, after } = await supervisor.policies.save(agentId, changes, by);
      supervisor.policyChanged(agentId, after.policy);
      return { before, view: await policy(agentId) };
    },

    async view(agentId: string) {
      await requireAgent(agentId);
      const row = await status.get(agentId);
      const { policy: p } = await supervisor.policies.load(agentId);
      const state = supervisor.recoveryState(agentId, p);
      const attempts = await recoveryRepo(db.knex).latestEpisode(agentId);
      return {
        agent_id: agentId,
        recovery_status: row?.recovery_status ?? 'none',
        can_recover: !state.in_progress && (await supervisor.startable(agentId)),
        in_progress: state.in_progress,
        trigger: state.trigger,
        episode_started_at: state.episode_started_at,
        attempts: attempts.map(presentAttempt),
        remaining: state.remaining,
        next_attempt_at: state.next_attempt_at,
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
