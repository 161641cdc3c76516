// agent_credentials: public keys of the NATS users issued to agents, and their revocations.
// Kept after an agent is deleted, so that its revocation outlives it.
import type { Queryable } from './agents.repo.js';

export function credentialsRepo(q: Queryable) {
  return {
    async add(agentId: string, publicKey: string, issuedFor?: { host_id: string; epoch: number; start_id: string }): Promise<void> {
      await q('agent_credentials').insert({ agent_id: agentId, public_key: publicKey, ...issuedFor });
    },
    /**
     * The agent's live keys issued before `key` (an older start, or an older epoch of its host):
     * stale once the process using `key` runs. Keys issued after it (the next start's spare) stay.
     */
    async olderThan(agentId: string, key: string): Promise<string[]> {
      const ref = await q('agent_credentials').where({ agent_id: agentId, public_key: key }).first('id');
      if (!ref) return [];
      return q('agent_credentials').where({ agent_id: agentId }).whereNull('revoked_at').where('id', '<', ref.id).pluck('public_key');
    },
    /** Marks every live key of the agent revoked; answers those keys. */
    async revokeAgent(agentId: string, reason: string, except?: string): Promise<string[]> {
      const query = q('agent_credentials').where({ agent_id: agentId }).whereNull('revoked_at');
      if (except) query.whereNot('public_key', except);
      const rows = await query.update({ revoked_at: q.fn.now(3), revoke_reason: reason }).returning('public_key');
      return rows.map((r: { public_key: string }) => r.public_key);
    },
    /** Marks the given live keys of the agent revoked; answers those that were live. */
    async revokeKeys(agentId: string, keys: string[], reason: string): Promise<string[]> {
      if (keys.length === 0) return [];
      const rows = await q('agent_credentials').where({ agent_id: agentId }).whereIn('public_key', keys).whereNull('revoked_at').update({ revoked_at: q.fn.now(3), revoke_reason: reason }).returning('public_key');
      return rows.map((r: { public_key: string }) => r.public_key);
    },
    /** Every revoked key with its revocation time (the account JWT's revocation list). */
    revoked: (): Promise<Array<{ public_key: string; revoked_at: Date }>> =>
      q('agent_credentials').whereNotNull('revoked_at').select('public_key', 'revoked_at'),
    /** Revoked keys the broker does not enforce yet (oldest first). */
    pendingRevocations: (): Promise<Array<{ id: number; public_key: string }>> =>
      q('agent_credentials').whereNotNull('revoked_at').whereNull('revocation_applied_at').orderBy('id').select('id', 'public_key'),
    countPendingRevocations: async (): Promise<number> =>
      Number((await q('agent_credentials').whereNotNull('revoked_at').whereNull('revocation_applied_at').count({ n: '*' }).first())?.n ?? 0),
    /** Every revoked key. */
    revokedKeys: (): Promise<string[]> => q('agent_credentials').whereNotNull('revoked_at').orderBy('id').pluck('public_key'),
    async markRevocationsApplied(ids: number[]): Promise<void> {
      for (let i = 0; i < ids.length; i += 1000) {
        await q('agent_credentials').whereIn('id', ids.slice(i, i + 1000)).whereNull('revocation_applied_at').update({ revocation_applied_at: q.fn.now(3) });
      }
    },
    live: (agentId: string): Promise<string[]> => q('agent_credentials').where({ agent_id: agentId }).whereNull('revoked_at').pluck('public_key'),
  };
}
