// The audit log as the administration screen shows it: filtered pages from the API, new rows
// from the live stream (audit.appended) on top when they match the filters, or counted while
// paused.
import type { AuditFilter } from '../api/client';
import type { AuditEntry, LiveEvent } from '../api/types';
import type { Slice, StoreDeps } from './store';

export interface AuditState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: unknown;
  filter: AuditFilter;
  items: AuditEntry[];
  next: string | null;
  /** New rows go on top as they are written. */
  live: boolean;
  /** Rows that arrived while paused, newest first (shown on request). */
  held: AuditEntry[];
}

export interface AuditSlice {
  audit: AuditState;
  loadAudit(filter?: AuditFilter): Promise<void>;
  loadMoreAudit(): Promise<void>;
  setAuditLive(live: boolean): void;
  applyAuditEvents(events: LiveEvent[]): void;
}

/** Rows kept on screen; older ones are a "Load more" away. */
export const AUDIT_KEPT = 2000;
export const AUDIT_PAGE = 100;

/** Whether an entry passes the filters, as GET /audit applies them (action `x.*` is a prefix). */
export function auditMatches(e: AuditEntry, f: AuditFilter): boolean {
  if (f.actor && e.actor.name !== f.actor) return false;
  if (f.action) {
    if (f.action.endsWith('*') ? !e.action.startsWith(f.action.slice(0, -1)) : e.action !== f.action) return false;
  }
  if (f.target && e.target !== f.target) return false;
  if (f.result && e.result !== f.result) return false;
  const t = Date.parse(e.time);
  if (f.from && t < Date.parse(f.from)) return false;
  if (f.to && t >= Date.parse(f.to)) return false;
  return true;
}

/** Only the filters that are set (empty strings dropped), for the API and the URL. */
export function cleanFilter(f: AuditFilter): AuditFilter {
  const out: AuditFilter = {};
  for (const [k, v] of Object.entries(f) as Array<[keyof AuditFilter, string | undefined]>) if (v) (out as Record<string, string>)[k] = v;
  return out;
}

export const auditSlice = ({ client }: StoreDeps): Slice<AuditSlice> => (set, get) => {
  let generation = 0;
  return {
    audit: { status: 'idle', error: null, filter: {}, items: [], next: null, live: true, held: [] },
    async loadAudit(filter) {
      const f = cleanFilter(filter ?? get().audit.filter);
      const mine = ++generation;
      set((s) => ({ audit: { ...s.audit, status: 'loading', error: null, filter: f, held: [] } }));
      try {
        const page = await client.audit.list({ ...f, limit: AUDIT_PAGE });
        if (mine !== generation) return;
        set((s) => ({ audit: { ...s.audit, status: 'ready', items: page.items, next: page.next_cursor } }));
      } catch (error) {
        if (mine !== generation) return;
        set((s) => ({ audit: { ...s.audit, status: 'error', error } }));
      }
    },
    async loadMoreAudit() {
      const { next, filter } = get().audit;
      if (!next) return;
      const mine = generation;
      const page = await client.audit.list({ ...filter, limit: AUDIT_PAGE, cursor: next });
      if (mine !== generation) return;
      const seen = new Set(get().audit.items.map((e) => e.id));
      set((s) => ({ audit: { ...s.audit, items: [...s.audit.items, ...page.items.filter((e) => !seen.has(e.id))], next: page.next_cursor } }));
    },
    setAuditLive(live) {
      set((s) => {
        const a = s.audit;
        if (!live) return { audit: { ...a, live } };
        return { audit: { ...a, live, items: [...a.held, ...a.items].slice(0, AUDIT_KEPT), held: [] } };
      });
    },
    applyAuditEvents(events) {
      const a = get().audit;
      if (a.status === 'idle') return;
      const fresh: AuditEntry[] = [];
      for (const e of events) {
        if (e.type !== 'audit.appended') continue;
        const entry = e.entry as AuditEntry;
        if (auditMatches(entry, a.filter)) fresh.push(entry);
      }
      if (fresh.length === 0) return;
      fresh.reverse();
      const known = new Set(a.items.map((x) => x.id));
      const add = fresh.filter((x) => !known.has(x.id));
      if (add.length === 0) return;
      set((s) =>
        s.audit.live
          ? { audit: { ...s.audit, items: [...add, ...s.audit.items].slice(0, AUDIT_KEPT) } }
          : { audit: { ...s.audit, held: [...add, ...s.audit.held].slice(0, AUDIT_KEPT) } },
      );
    },
  };
};
