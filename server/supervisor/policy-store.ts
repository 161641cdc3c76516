// Each agent's recovery policy: its stored row, or the defaults. Cached in memory because
// the recovery engine reads it at every step; a write through this store updates the cache.
import type { Database } from '../db/database.js';
import { recoveryRepo } from '../db/recovery.repo.js';
import { DEFAULT_RECOVERY_POLICY, type RecoveryPolicy } from '../domain/recovery-policy.js';

export interface StoredPolicy {
  policy: RecoveryPolicy;
  /** `default` until someone stores one for the agent. */
  source: 'default' | 'agent';
  updated_by: string | null;
  updated_at: string | null;
}

const FIELDS = Object.keys(DEFAULT_RECOVERY_POLICY) as Array<keyof RecoveryPolicy>;

export type PolicyStore = ReturnType<typeof createPolicyStore>;

export function createPolicyStore({ db }: { db: Database }) {
  const cache = new Map<string, StoredPolicy>();

  async function load(agentId: string): Promise<StoredPolicy> {
    const hit = cache.get(agentId);
    if (hit) return hit;
    const row = await recoveryRepo(db.knex).policy(agentId);
    const stored: StoredPolicy = row
      ? {
          policy: Object.fromEntries(FIELDS.map((f) => [f, f === 'notification_channels' ? [...(row[f] ?? [])] : Number.isFinite(row[f] as number) ? Number(row[f]) : row[f]])) as unknown as RecoveryPolicy,
          source: 'agent',
          updated_by: row.updated_by,
          updated_at: row.updated_at.toISOString(),
        }
      : { policy: { ...DEFAULT_RECOVERY_POLICY, notification_channels: [] }, source: 'default', updated_by: null, updated_at: null };
    if (row) stored.policy.auto_recovery = Boolean(row.auto_recovery);
    cache.set(agentId, stored);
    return stored;
  }

  return {
    load,
    policyOf: async (agentId: string): Promise<RecoveryPolicy> => (await load(agentId)).policy,
    /** Merges `changes` over the current policy and stores the result. */
    async save(agentId: string, changes: Partial<RecoveryPolicy>, by: string): Promise<{ before: RecoveryPolicy; after: StoredPolicy }> {
      const before = (await load(agentId)).policy;
      const policy = { ...before, ...changes };
      await recoveryRepo(db.knex).savePolicy(agentId, policy, by);
      cache.delete(agentId);
      return { before, after: await load(agentId) };
    },
    forget: (agentId: string) => cache.delete(agentId),
  };
}
