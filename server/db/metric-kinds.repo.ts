// agent_metric_kinds: what each agent declared its own numbers to be (counter or gauge, unit).
import type { Queryable } from './agents.repo.js';
import type { MetricKind, SeriesMeta } from '../domain/metric-series.js';

export interface DeclaredKindRow {
  name: string;
  kind: MetricKind;
  unit: string | null;
}

export function metricKindsRepo(q: Queryable) {
  return {
    /**
     * Inserts or replaces the declarations of one agent (names not given are kept: their history
     * still is what it was). Rows whose kind and unit are unchanged are not rewritten; an agent
     * deleted meanwhile is skipped by the join.
     */
    async upsert(agentId: string, rows: DeclaredKindRow[]): Promise<void> {
      if (rows.length === 0) return;
      await q.raw(
        `INSERT INTO agent_metric_kinds (agent_id, name, kind, unit)
         SELECT a.id, v.name, v.kind, v.unit
         FROM (VALUES ${rows.map(() => '(?, ?, ?)').join(', ')}) AS v(name, kind, unit)
         JOIN agents a ON a.id = ?
         ON CONFLICT (agent_id, name) DO UPDATE SET kind = excluded.kind, unit = excluded.unit, updated_at = now()
         WHERE (agent_metric_kinds.kind, agent_metric_kinds.unit) IS DISTINCT FROM (excluded.kind, excluded.unit)`,
        [...rows.flatMap((r) => [r.name, r.kind, r.unit]), agentId],
      );
    },

    /** One agent's declarations by name. */
    async forAgent(agentId: string): Promise<Map<string, SeriesMeta>> {
      const rows = await q('agent_metric_kinds').where({ agent_id: agentId }).select<DeclaredKindRow[]>('name', 'kind', 'unit');
      return new Map(rows.map((r) => [r.name, { kind: r.kind, unit: r.unit }]));
    },
  };
}
