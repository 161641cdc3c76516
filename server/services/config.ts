// Configuration: effective config with provenance, and versioned stored layers for each
// agent and for the fleet (write, history, rollback).
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { type ConfigScope, type ConfigVersionRow, configRepo } from '../db/config.repo.js';
import { AgentNotFound, NotFound } from '../errors.js';
import { type ConfigMap, type ConfigSource, mergeConfig } from '../domain/agent-config.js';
import { type Page, toPage } from '../http/cursor.js';

export interface ConfigVersionView {
  version: number;
  config: ConfigMap;
  author: string;
  reason: string | null;
  /** Null only for the fleet's implicit version 0 (nothing stored yet). */
  created_at: string | null;
  /** Agent versions: `applied`, `rejected` or `unanswered` once sent to the running agent. */
  apply_status?: string | null;
  apply_error?: string | null;
  applied_at?: string | null;
}

export interface EffectiveConfigView {
  agent_id: string;
  /** The agent's stored version in force (0 when it has none yet). */
  version: number;
  fleet_version: number;
  config: ConfigMap;
  sources: Record<string, ConfigSource>;
  effective: Record<string, { value: unknown; source: ConfigSource }>;
}

export interface ConfigServiceDeps {
  db: Database;
  /** Built-in defaults; a function because the broker's URL is known only once it runs. */
  defaults: () => ConfigMap;
  /** The OPMAS_* environment layer, read once at start. */
  environment: ConfigMap;
}

const presentVersion = (row: ConfigVersionRow): ConfigVersionView => ({
  version: row.version,
  config: row.config,
  author: row.author,
  reason: row.reason,
  created_at: row.created_at.toISOString(),
  ...(row.apply_status !== undefined
    ? { apply_status: row.apply_status ?? null, apply_error: row.apply_error ?? null, applied_at: row.applied_at ? row.applied_at.toISOString() : null }
    : {}),
});

export type ConfigService = ReturnType<typeof createConfigService>;

export function createConfigService({ db, defaults, environment }: ConfigServiceDeps) {
  const repo = configRepo(db.knex);

  async function requireAgent(agentId: string): Promise<void> {
    if (!(await agentsRepo(db.knex).exists(agentId))) throw new AgentNotFound(agentId);
  }

  /** The hierarchy, lowest first: defaults, the AMS environment, the fleet, the agent. */
  function merge(fleet: ConfigMap | undefined, agent: ConfigMap | undefined) {
    return mergeConfig([
      { source: 'default', values: defaults() },
      { source: 'environment', values: environment },
      { source: 'fleet', values: fleet ?? {} },
      { source: 'agent', values: agent ?? {} },
    ]);
  }

  async function effective(agentId: string): Promise<EffectiveConfigView> {
    const layers = await repo.currentLayers(agentId);
    if (!layers) throw new AgentNotFound(agentId);
    const { fleet, agent } = layers;
    const merged = merge(fleet?.config, agent?.config);
    return {
      agent_id: agentId,
      version: agent?.version ?? 0,
      fleet_version: fleet?.version ?? 0,
      config: merged.config,
      sources: merged.sources,
      effective: Object.fromEntries(Object.entries(merged.config).map(([k, value]) => [k, { value, source: merged.sources[k] }])),
    };
  }

  /**
   * The effective configuration of many agents in two queries (the supervisor reads it for
   * every agent it hears from after a start). An unknown agent gets the fleet's.
   */
  async function effectiveConfigs(agentIds: readonly string[]): Promise<ConfigMap[]> {
    const [fleet, agents] = await Promise.all([repo.current('fleet'), repo.currentForAgents(agentIds)]);
    return agentIds.map((id) => merge(fleet?.config, agents.get(id)?.config).config);
  }

  /** The effective configuration and the agent's stored version in force of many agents (two queries). */
  async function effectiveMany(agentIds: readonly string[]): Promise<Map<string, { config: ConfigMap; version: number }>> {
    const [fleet, agents] = await Promise.all([repo.current('fleet'), repo.currentForAgents(agentIds)]);
    return new Map(agentIds.map((id) => [id, { config: merge(fleet?.config, agents.get(id)?.config).config, version: agents.get(id)?.version ?? 0 }]));
  }

  /** Appends a version; also answers the stored layer it replaced, for the audit log. */
  async function write(scope: ConfigScope, config: ConfigMap, author: string, reason: string | null): Promise<ConfigVersionView & { previous: ConfigMap | null }> {
    const { row, previous } = await db.knex.transaction((trx) => configRepo(trx).append(scope, config, author, reason));
    return { ...presentVersion(row), previous };
  }

  async function history(scope: ConfigScope, limit: number, before?: number): Promise<Page<ConfigVersionView>> {
    const rows = await repo.history(scope, limit, before);
    return toPage(rows, limit, presentVersion, (r) => ({ v: r.version }));
  }

  async function rollback(scope: ConfigScope, version: number, author: string, reason: string | null) {
    const target = await repo.version(scope, version);
    if (!target) {
      const owner = scope === 'fleet' ? 'the fleet' : `agent ${scope.agentId}`;
      throw new NotFound('config_version_not_found', `Configuration version ${version} does not exist for ${owner}`);
    }
    return write(scope, target.config, author, reason ?? `rollback to version ${version}`);
  }

  return {
    effective,
    effectiveConfigs,
    effectiveMany,

    /** The agent's stored layer in force ({} when none). */
    async storedAgentConfig(agentId: string): Promise<ConfigMap> {
      return (await repo.current({ agentId }))?.config ?? {};
    },

    async putAgent(agentId: string, config: ConfigMap, author: string, reason: string | null) {
      await requireAgent(agentId);
      const version = await write({ agentId }, config, author, reason);
      return { ...version, agent_id: agentId, effective: await effective(agentId) };
    },

    async agentHistory(agentId: string, limit: number, before?: number) {
      await requireAgent(agentId);
      return history({ agentId }, limit, before);
    },

    async rollbackAgent(agentId: string, version: number, author: string, reason: string | null) {
      await requireAgent(agentId);
      const written = await rollback({ agentId }, version, author, reason);
      return { ...written, agent_id: agentId, effective: await effective(agentId) };
    },

    async fleet(): Promise<ConfigVersionView> {
      const row = await repo.current('fleet');
      return row ? presentVersion(row) : { version: 0, config: {}, author: 'system', reason: null, created_at: null };
    },

    putFleet: (config: ConfigMap, author: string, reason: string | null) => write('fleet', config, author, reason),
    fleetHistory: (limit: number, before?: number) => history('fleet', limit, before),
    rollbackFleet: (version: number, author: string, reason: string | null) => rollback('fleet', version, author, reason),
  };
}
