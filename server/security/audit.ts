// The audit log service: append one row per mutating request or auth event, and query.
// Writing never fails the caller; a row that cannot be written is reported in the log.
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { type AuditEntry, type AuditFilter, type AuditRow, auditRepo } from '../db/audit.repo.js';
import { type Page, toPage } from '../http/cursor.js';
import type { Principal } from './principal.js';

export interface AuditView {
  id: number;
  time: string;
  actor: { type: string; id: string | null; name: string | null; role: string | null };
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  source: string | null;
  result: string;
  status: number | null;
  correlation_id: string | null;
  details: unknown;
}

const present = (r: AuditRow): AuditView => ({
  id: r.id,
  time: r.time.toISOString(),
  actor: { type: r.actor_type, id: r.actor_id, name: r.actor_name, role: r.role },
  action: r.action,
  target: r.target,
  before: r.before ?? null,
  after: r.after ?? null,
  source: r.source,
  result: r.result,
  status: r.status,
  correlation_id: r.correlation_id,
  details: r.details ?? null,
});

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService({ db, logger }: { db: Database; logger: Logger }) {
  const repo = auditRepo(db.knex);
  return {
    async record(entry: AuditEntry): Promise<void> {
      try {
        await repo.append([entry]);
      } catch (err) {
        logger.error({ err: (err as Error).message, action: entry.action, target: entry.target }, 'audit row could not be written');
      }
    },
    async list(filter: AuditFilter): Promise<Page<AuditView>> {
      const rows = await repo.list(filter);
      return toPage(rows, filter.limit, present, (r) => ({ t: r.time.toISOString(), i: r.id }));
    },
  };
}

/** The actor, source and correlation fields of an audit row, from the request. */
export function auditContext(ctx: Context, principal: Principal | undefined): Pick<AuditEntry, 'actor_type' | 'actor_id' | 'actor_name' | 'role' | 'source' | 'correlation_id'> {
  return {
    actor_type: principal ? (principal.agentId ? 'agent' : principal.type) : 'anonymous',
    actor_id: principal?.id ?? null,
    actor_name: principal?.name ?? null,
    role: principal?.role ?? null,
    source: ctx.ip || null,
    correlation_id: (ctx.state.requestId as string | undefined) ?? null,
  };
}
