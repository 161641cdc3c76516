// Request and response schemas of an agent's logs.
import { z } from 'zod';
import { pageOf, paginationQuery } from '../common.js';
import { LOG_LEVELS, type LogLevel } from '../../services/logs.js';
import { parseInstant } from '../../domain/metric-series.js';

const ALIASES: ReadonlyMap<string, LogLevel> = new Map([['WARN', 'WARNING'], ['FATAL', 'CRITICAL']]);

const instant = z
  .string()
  .max(64)
  .transform((text, ctx) => {
    const ms = parseInstant(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time with a zone (2026-11-24T10:00:00Z) or epoch milliseconds' });
      return z.NEVER;
    }
    return new Date(ms);
  });

export const LogsQuery = z
  .object({
    level: z
      .string()
      .max(16)
      .transform((text, ctx) => {
        const up = text.trim().toUpperCase();
        const level = (LOG_LEVELS as readonly string[]).includes(up) ? (up as LogLevel) : ALIASES.get(up);
        if (!level) {
          ctx.addIssue({ code: 'custom', message: `must be one of ${LOG_LEVELS.join(', ')}` });
          return z.NEVER;
        }
        return level;
      })
      .optional()
      .describe('Minimum severity: DEBUG < INFO < WARNING < ERROR < CRITICAL (case-insensitive; WARN and FATAL accepted)'),
    since: instant.optional().describe('Lines at or after this time: ISO 8601 with a zone, or epoch ms'),
    until: instant.optional().describe('Lines before this time'),
    q: z.string().min(1).max(200).optional().describe('Case-insensitive substring of the message'),
    ...paginationQuery,
  })
  .meta({ id: 'LogsQuery' });

export const LogLineSchema = z
  .object({
    id: z.number().int(),
    agent_id: z.string(),
    level: z.string(),
    message: z.string(),
    context: z.record(z.string(), z.unknown()).nullable(),
    source: z.string().nullable().describe('stdout, stderr or nats'),
    timestamp: z.string(),
  })
  .meta({ id: 'LogLine' });

export const LogPage = pageOf(LogLineSchema, 'LogPage');
