// Writes of captured process output (stdout/stderr lines) into agent_logs, in multi-row
// inserts; lines of agents deleted meanwhile are dropped by the join.
import type { Knex } from 'knex';
import type { Queryable } from './agents.repo.js';

export interface OutputLogRow {
  agent_id: string;
  level: string;
  message: string;
  context: Record<string, unknown> | null;
  source: 'stdout' | 'stderr';
  timestamp: Date;
}

/** PostgreSQL text and jsonb cannot hold NUL: it becomes U+FFFD, as undecodable bytes do. */
const noNul = (text: string): string => (text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text);
const contextJson = (context: Record<string, unknown>): string => JSON.stringify(context, (_k, v: unknown) => (typeof v === 'string' ? noNul(v) : v));

export function processOutputRepo(q: Queryable) {
  return {
    async insert(rows: OutputLogRow[]): Promise<void> {
      if (rows.length === 0) return;
      const bindings = rows.flatMap((r) => [r.agent_id, r.level, noNul(r.message), r.context ? contextJson(r.context) : null, r.source, r.timestamp.toISOString()]) as Knex.RawBinding[];
      await q.raw(
        `INSERT INTO agent_logs (agent_id, level, message, context, source, timestamp)
         SELECT v.agent_id, v.level, v.message, v.context::jsonb, v.source, v.ts::timestamptz
         FROM (VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}) AS v(agent_id, level, message, context, source, ts)
         JOIN agents a ON a.id = v.agent_id`,
        bindings,
      );
    },
  };
}
