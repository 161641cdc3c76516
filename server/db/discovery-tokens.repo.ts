// discovery_tokens: one-time registration tokens, stored hashed.
import type { Queryable } from './agents.repo.js';

export interface DiscoveryTokenRow {
  id: string;
  token_hash: string;
  agent_type: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  used_by_agent_id: string | null;
  revoked_at: Date | null;
}

export function discoveryTokensRepo(q: Queryable) {
  return {
    async insert(row: Pick<DiscoveryTokenRow, 'id' | 'token_hash' | 'agent_type' | 'created_by' | 'expires_at'>): Promise<void> {
      await q('discovery_tokens').insert(row);
    },
    byId: (id: string): Promise<DiscoveryTokenRow | undefined> => q('discovery_tokens').where({ id }).first(),
    byHash: (hash: string): Promise<DiscoveryTokenRow | undefined> => q('discovery_tokens').where({ token_hash: hash }).first(),
    /** Consumes the token if it is usable for `agentType`; answers the row, or undefined when it was not. */
    async consume(hash: string, agentType: string, agentId: string): Promise<DiscoveryTokenRow | undefined> {
      const [row] = await q('discovery_tokens')
        .where({ token_hash: hash })
        .whereNull('used_at')
        .whereNull('revoked_at')
        .where('expires_at', '>', q.fn.now(3))
        .where((w) => w.whereNull('agent_type').orWhere('agent_type', agentType))
        .update({ used_at: q.fn.now(3), used_by_agent_id: agentId })
        .returning('*');
      return row;
    },
    list: (limit: number, after?: { created_at: string; id: string }): Promise<DiscoveryTokenRow[]> => {
      const query = q('discovery_tokens').select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit + 1);
      if (after) query.whereRaw('(created_at, id) < (?::timestamptz, ?)', [after.created_at, after.id]);
      return query;
    },
    revoke: (id: string) => q('discovery_tokens').where({ id }).whereNull('revoked_at').whereNull('used_at').update({ revoked_at: q.fn.now(3) }),
  };
}
