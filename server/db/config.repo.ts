// agent_configs, agent_config_versions and fleet_config_versions: stored configuration
// layers and their version history. The newest version is the current one.
import type { ConfigMap } from '../domain/agent-config.js';
import type { Queryable } from './agents.repo.js';
import { prepared } from './prepared.js';

export interface ConfigVersionRow {
  version: number;
  config: ConfigMap;
  author: string;
  reason: string | null;
  created_at: Date;
  /** Agent versions only: what the running agent did with it (runtime configuration). */
  apply_status?: string | null;
  apply_error?: string | null;
  applied_at?: Date | null;
}

const VERSION_COLUMNS = ['version', 'config', 'author', 'reason', 'created_at'];
const AGENT_VERSION_COLUMNS = [...VERSION_COLUMNS, 'apply_status', 'apply_error', 'applied_at'];

/** A stored layer's version and values, without its history fields. */
export type StoredLayer = Pick<ConfigVersionRow, 'version' | 'config'>;

/** Scope of a version history: one agent, or the fleet-wide settings. */
export type ConfigScope = { agentId: string } | 'fleet';

export function configRepo(q: Queryable) {
  const versions = (scope: ConfigScope) =>
    scope === 'fleet' ? q('fleet_config_versions') : q('agent_config_versions').where('agent_id', scope.agentId);
  const columns = (scope: ConfigScope) => (scope === 'fleet' ? VERSION_COLUMNS : AGENT_VERSION_COLUMNS);

  return {
    async current(scope: ConfigScope): Promise<ConfigVersionRow | undefined> {
      return versions(scope).select(columns(scope)).orderBy('version', 'desc').first();
    },

    /**
     * The fleet's and the agent's current versions in one round trip (the effective
     * configuration); undefined when there is no such agent.
     */
    async currentLayers(agentId: string): Promise<{ fleet: StoredLayer | null; agent: StoredLayer | null } | undefined> {
      const { rows } = await q.raw<{ rows: Array<{ fleet: StoredLayer | null; agent: StoredLayer | null }> }>(
        `SELECT (SELECT json_build_object('version', f.version, 'config', f.config)
                   FROM fleet_config_versions f ORDER BY f.version DESC LIMIT 1) AS fleet,
                (SELECT json_build_object('version', v.version, 'config', v.config)
                   FROM agent_config_versions v WHERE v.agent_id = a.id ORDER BY v.version DESC LIMIT 1) AS agent
           FROM agents a WHERE a.id = ?`,
        [agentId],
      ).options(prepared('config_layers'));
      return rows[0];
    },

    /** The current version of each of these agents that has one (one query for many agents). */
    async currentForAgents(agentIds: readonly string[]): Promise<Map<string, ConfigVersionRow>> {
      if (agentIds.length === 0) return new Map();
      const rows = await q('agent_config_versions')
        .distinctOn('agent_id')
        .select(['agent_id', ...AGENT_VERSION_COLUMNS])
        .whereIn('agent_id', [...agentIds])
        .orderBy([{ column: 'agent_id' }, { column: 'version', order: 'desc' }]);
      return new Map((rows as Array<ConfigVersionRow & { agent_id: string }>).map(({ agent_id, ...row }) => [agent_id, row]));
    },

    async version(scope: ConfigScope, version: number): Promise<ConfigVersionRow | undefined> {
      return versions(scope).select(columns(scope)).where('version', version).first();
    },

    /** Newest first, versions below `before` when given; up to limit+1 rows. */
    async history(scope: ConfigScope, limit: number, before?: number): Promise<ConfigVersionRow[]> {
      const query = versions(scope).select(columns(scope)).orderBy('version', 'desc').limit(limit + 1);
      if (before !== undefined) query.where('version', '<', before);
      return query;
    },

    /** Records whether the running agent applied a version (runtime configuration). */
    async markApplied(agentId: string, version: number, status: 'applied' | 'rejected' | 'unanswered', error: string | null): Promise<void> {
      await q('agent_config_versions').where({ agent_id: agentId, version }).update({ apply_status: status, apply_error: error, applied_at: q.fn.now(3) });
    },

    /**
     * Appends a version after locking the scope's current row, so concurrent writers get
     * consecutive numbers; for an agent also rewrites its per-key rows in agent_configs.
     */
    async append(scope: ConfigScope, config: ConfigMap, author: string, reason: string | null): Promise<{ row: ConfigVersionRow; previous: ConfigMap | null }> {
      if (scope === 'fleet') await q.raw('LOCK TABLE fleet_config_versions IN SHARE ROW EXCLUSIVE MODE');
      else await q('agents').where('id', scope.agentId).forUpdate().first('id');
      const latest = await versions(scope).select('version', 'config').orderBy('version', 'desc').first();
      const version = Number(latest?.version ?? 0) + 1;
      const row = { version, config: JSON.stringify(config), author, reason };
      const table = scope === 'fleet' ? 'fleet_config_versions' : 'agent_config_versions';
      const [inserted] = await q(table)
        .insert(scope === 'fleet' ? row : { ...row, agent_id: scope.agentId })
        .returning(columns(scope));
      if (scope !== 'fleet') {
        await q('agent_configs').where('agent_id', scope.agentId).delete();
        const keys = Object.entries(config).map(([key, value]) => ({ agent_id: scope.agentId, key, value: JSON.stringify(value) }));
        if (keys.length > 0) await q('agent_configs').insert(keys);
      }
      return { row: inserted as ConfigVersionRow, previous: (latest?.config as ConfigMap | undefined) ?? null };
    },
  };
}
