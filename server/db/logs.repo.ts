// agent_logs: filtered pages newest first, and pruning by age and by rows per agent in
// bounded batches.
import type { Knex } from 'knex';
import type { Queryable } from './agents.repo.js';

export interface LogRow {
  id: number;
  agent_id: string;
  level: string;
  message: string;
  context: Record<string, unknown> | null;
  source: string | null;
  timestamp: Date;
}

export interface LogFilter {
  agentId: string;
  /** Upper-case level names to keep. */
  levels?: string[];
  since?: Date;
  until?: Date;
  /** Case-insensitive substring of the message. */
  q?: string;
  before?: { timestamp: string; id: number };
  limit: number;
}

/** LIKE pattern that matches `text` literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function logsRepo(q: Queryable) {
  return {
    /** limit+1 rows newest first (timestamp, id), for toPage. */
    list(f: LogFilter): Promise<LogRow[]> {
      const query = q('agent_logs')
        .where('agent_id', f.agentId)
        .select('id', 'agent_id', 'level', 'message', 'context', 'source', 'timestamp')
        .orderBy([{ column: 'timestamp', order: 'desc' }, { column: 'id', order: 'desc' }])
        .limit(f.limit + 1);
      // Levels are stored as sent; the supervisor's stdout capture and agents may differ in case.
      if (f.levels) query.whereRaw('upper(level) = ANY(?::text[])', [`{${f.levels.join(',')}}`]);
      if (f.since) query.where('timestamp', '>=', f.since.toISOString());
      if (f.until) query.where('timestamp', '<', f.until.toISOString());
      if (f.q) query.whereRaw(`message ILIKE ? ESCAPE '\\'`, [containing(f.q)]);
      if (f.before) query.whereRaw('(timestamp, id) < (?::timestamptz, ?)', [f.before.timestamp, f.before.id]);
      return query;
    },

    /** Deletes at most `batch` lines older than `before`, over all agents. */
    async pruneOlderThan(before: Date, batch: number): Promise<number> {
      const res = await q.raw('DELETE FROM agent_logs WHERE id IN (SELECT id FROM agent_logs WHERE timestamp < ?::timestamptz LIMIT ?)', [before.toISOString(), batch]);
      return (res as { rowCount?: number }).rowCount ?? 0;
    },

    /** Agents that have logs (the candidates for the per-agent row limit). */
    agentsWithLogs(): Promise<string[]> {
      return q('agents').whereExists(q('agent_logs').whereRaw('agent_logs.agent_id = agents.id').select(q.raw('1'))).pluck('id');
    },

    /** The newest line beyond the first `keep` of an agent (where pruning starts), if any. */
    async cutoff(agentId: string, keep: number): Promise<{ timestamp: Date; id: number } | undefined> {
      return q('agent_logs')
        .where('agent_id', agentId)
        .orderBy([{ column: 'timestamp', order: 'desc' }, { column: 'id', order: 'desc' }])
        .offset(keep)
        .first('timestamp', 'id');
    },

    /** Deletes at most `batch` of an agent's lines at or before the cutoff. */
    async pruneAgentUpTo(agentId: string, cut: { timestamp: Date; id: number }, batch: number): Promise<number> {
      const res = await q.raw(
        `DELETE FROM agent_logs WHERE id IN (
           SELECT id FROM agent_logs WHERE agent_id = ? AND (timestamp, id) <= (?::timestamptz, ?) LIMIT ?)`,
        [agentId, cut.timestamp.toISOString(), cut.id, batch] as Knex.RawBinding[],
      );
      return (res as { rowCount?: number }).rowCount ?? 0;
    },
  };
}
