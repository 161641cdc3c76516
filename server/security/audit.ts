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

export const presentAudit = (r: AuditRow): AuditView => ({
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

/** Rows read per query while exporting. */
const EXPORT_BATCH = 1000;

export function createAuditService({ db, logger }: { db: Database; logger: Logger }) {
  const repo = auditRepo(db.knex);
  const listeners = new Set<(entry: AuditView) => void>();
  return {
    async record(entry: AuditEntry): Promise<void> {
      let rows: AuditRow[];
      try {
        rows = await repo.append([entry]);
      } catch (err) {
        logger.error({ err: (err as Error).message, action: entry.action, target: entry.target }, 'audit row could not be written');
        return;
      }
      for (const row of rows) {
        for (const l of listeners) {
          try {
            l(presentAudit(row));
          } catch {
            // a listener's failure is its own; the row is written
          }
        }
      }
    },
    /** Called with each row once it is written (the live stream's `audit.appended`). */
    onAppend(listener: (entry: AuditView) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async list(filter: AuditFilter): Promise<Page<AuditView>> {
      const rows = await repo.list(filter);
      return toPage(rows, filter.limit, presentAudit, (r) => ({ t: r.time.toISOString(), i: r.id }));
    },
    /** Every row the filter matches, newest first, read in batches (for export). */
    async *all(filter: Omit<AuditFilter, 'limit' | 'before'>): AsyncGenerator<AuditView> {
      let before: AuditFilter['before'];
      for (;;) {
        const rows = await repo.list({ ...filter, before, limit: EXPORT_BATCH });
        const page = rows.slice(0, EXPORT_BATCH);
        for (const r of page) yield presentAudit(r);
        if (rows.length <= EXPORT_BATCH) return;
        const last = page[page.length - 1];
        before = { time: last.time.toISOString(), id: last.id };
      }
    },
  };
}

export const AUDIT_CSV_COLUMNS = ['id', 'time', 'actor_type', 'actor_id', 'actor_name', 'role', 'action', 'target', 'result', 'status', 'source', 'correlation_id', 'before', 'after', 'details'] as const;

/**
 * One CSV field (RFC 4180 quoting). A value a spreadsheet would read as a formula (=, +, -, @,
 * tab or CR first: user names and targets come from requests) gets a leading apostrophe.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function auditCsvRow(e: AuditView): string {
  const cells: Record<(typeof AUDIT_CSV_COLUMNS)[number], unknown> = {
    id: e.id, time: e.time, actor_type: e.actor.type, actor_id: e.actor.id, actor_name: e.actor.name, role: e.actor.role, action: e.action,
    target: e.target, result: e.result, status: e.status, source: e.source, correlation_id: e.correlation_id, before: e.before, after: e.after, details: e.details,
  };
  return AUDIT_CSV_COLUMNS.map((c) => csvField(cells[c])).join(',');
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
