// Agent logs: pages newest first, filtered by minimum level, time and a message substring.
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { type LogRow, logsRepo } from '../db/logs.repo.js';
import { AgentNotFound } from '../errors.js';
import { decodeCursor, type Page, toPage } from '../http/cursor.js';

/** Severity order; `level` in a query is the minimum kept. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Levels that mean the same in other vocabularies (pino, syslog, Python). */
const SAME_AS: ReadonlyMap<string, string[]> = new Map([['WARNING', ['WARN']], ['CRITICAL', ['FATAL']], ['DEBUG', ['TRACE']]]);

export function levelsAtLeast(min: LogLevel): string[] {
  return LOG_LEVELS.slice(LOG_LEVELS.indexOf(min)).flatMap((l) => [l, ...(SAME_AS.get(l) ?? [])]);
}

export interface LogQuery {
  level?: LogLevel;
  since?: Date;
  until?: Date;
  q?: string;
  cursor?: string;
  limit: number;
}

export interface LogView {
  id: number;
  agent_id: string;
  level: string;
  message: string;
  context: Record<string, unknown> | null;
  source: string | null;
  timestamp: string;
}

const LogCursor = z.object({ t: z.string().datetime(), i: z.number().int() });

const present = (r: LogRow): LogView => ({
  id: r.id,
  agent_id: r.agent_id,
  level: r.level,
  message: r.message,
  context: r.context,
  source: r.source,
  timestamp: r.timestamp.toISOString(),
});

export type LogService = ReturnType<typeof createLogService>;

export function createLogService({ db }: { db: Database }) {
  return {
    async list(agentId: string, query: LogQuery): Promise<Page<LogView>> {
      const after = query.cursor ? decodeCursor(query.cursor, LogCursor) : undefined;
      if (!(await agentsRepo(db.knex).exists(agentId))) throw new AgentNotFound(agentId);
      const rows = await logsRepo(db.knex).list({
        agentId,
        levels: query.level ? levelsAtLeast(query.level) : undefined,
        since: query.since,
        until: query.until,
        q: query.q,
        before: after && { timestamp: after.t, id: after.i },
        limit: query.limit,
      });
      return toPage(rows, query.limit, present, (r) => ({ t: r.timestamp.toISOString(), i: r.id }));
    },
  };
}
