// The audit log: filters by actor, action (a prefix with *), target, result and time; new rows
// arrive live (or are counted while paused); each row opens to its before/after; the filtered
// log exports as NDJSON or CSV. The filters are in the URL.
import { useEffect, useMemo, useState } from 'react';
import type { FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { AuditFilter } from '../../api/client';
import type { AuditEntry } from '../../api/types';
import { useConsole, useConsoleStore } from '../../store/context';
import { cleanFilter } from '../../store/audit-slice';
import { navigate, useLocation } from '../../router';
import { compactDateTime, dateTime, plural } from '../common/format';
import { Empty, ErrorState, InlineError, Loading } from '../common/states';
import { downloadText, fileStamp } from '../common/download';
import { NEEDS_AMS, useAmsDown } from '../common/link';

const FIELDS = ['actor', 'action', 'target', 'result', 'from', 'to'] as const;

export function auditFilterFromSearch(search: string): AuditFilter {
  const p = new URLSearchParams(search);
  const f: AuditFilter = {};
  for (const k of FIELDS) {
    const v = p.get(k);
    if (v) (f as Record<string, string>)[k] = v;
  }
  if (f.result && !['success', 'failure', 'denied'].includes(f.result)) delete f.result;
  return f;
}

function searchFromAuditFilter(f: AuditFilter): string {
  const p = new URLSearchParams(cleanFilter(f) as Record<string, string>);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** A datetime-local value ("2026-03-04T14:05") as ISO 8601, or the reverse. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso: string | undefined) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

export function AuditLogPanel() {
  const { client } = useConsole();
  const { audit, load, loadMore, setLive } = useConsoleStore(useShallow((s) => ({ audit: s.audit, load: s.loadAudit, loadMore: s.loadMoreAudit, setLive: s.setAuditLive })));
  const { search } = useLocation();
  const filter = useMemo(() => auditFilterFromSearch(search), [search]);
  const [draft, setDraft] = useState<AuditFilter>(filter);
  const [open, setOpen] = useState<number | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const down = useAmsDown();

  useEffect(() => {
    setDraft(filter);
    void load(filter);
  }, [search]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/admin/audit${searchFromAuditFilter(draft)}`, { replace: true });
  };
  const exportAs = async (format: 'ndjson' | 'csv') => {
    setExporting(format);
    setError(null);
    try {
      const text = await client.audit.export(cleanFilter(filter), format);
      downloadText(text, `opmas-audit-${fileStamp()}.${format}`, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
    } catch (err) {
      setError(err);
    } finally {
      setExporting(null);
    }
  };
  const set = (k: keyof AuditFilter, v: string) => setDraft({ ...draft, [k]: v });
  const now = Date.now();

  return (
    <section className="panel audit-log" aria-labelledby="audit-log-title">
      <h2 id="audit-log-title">Audit log</h2>
      <form className="toolbar audit-filters" onSubmit={apply} role="search" aria-label="Audit filters">
        <label className="field">
          <span>Actor</span>
          <input value={draft.actor ?? ''} onChange={(e) => set('actor', e.target.value)} placeholder="user or token name" />
        </label>
        <label className="field">
          <span>Action</span>
          <input value={draft.action ?? ''} onChange={(e) => set('action', e.target.value)} placeholder="user.update or user.*" />
        </label>
        <label className="field">
          <span>Target</span>
          <input value={draft.target ?? ''} onChange={(e) => set('target', e.target.value)} placeholder="user:alice" />
        </label>
        <label className="field">
          <span>Result</span>
          <select value={draft.result ?? ''} onChange={(e) => set('result', e.target.value)}>
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="denied">Denied</option>
          </select>
        </label>
        <label className="field">
          <span>From</span>
          <input type="datetime-local" value={toLocal(draft.from)} onChange={(e) => set('from', toIso(e.target.value))} />
        </label>
        <label className="field">
          <span>To</span>
          <input type="datetime-local" value={toLocal(draft.to)} onChange={(e) => set('to', toIso(e.target.value))} />
        </label>
        <div className="row filter-actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={() => navigate('/admin/audit', { replace: true })} disabled={Object.keys(cleanFilter(filter)).length === 0}>
            Clear
          </button>
        </div>
      </form>
      <div className="bulk-bar">
        <label className="check">
          <input type="checkbox" checked={audit.live} onChange={(e) => setLive(e.target.checked)} data-testid="audit-live" /> Live: new entries appear on top
        </label>
        {!audit.live && audit.held.length > 0 && (
          <button type="button" onClick={() => setLive(true)}>
            {plural(audit.held.length, 'new entry', 'new entries')} — show
          </button>
        )}
        <span className="grow" />
        <button type="button" onClick={() => void exportAs('ndjson')} disabled={!!exporting || down} title={down ? NEEDS_AMS : undefined}>
          {exporting === 'ndjson' ? 'Exporting…' : 'Export NDJSON'}
        </button>
        <button type="button" onClick={() => void exportAs('csv')} disabled={!!exporting || down} title={down ? NEEDS_AMS : undefined}>
          {exporting === 'csv' ? 'Exporting…' : 'Export CSV'}
        </button>
      </div>
      <p className="muted small">Exports hold every entry the filters match, not only those shown.</p>
      {error !== null && <InlineError what="export the audit log" error={error} />}
      {audit.status === 'error' && audit.items.length === 0 ? (
        <ErrorState what="load the audit log" error={audit.error} retry={() => void load(filter)} />
      ) : audit.status === 'loading' && audit.items.length === 0 ? (
        <Loading what="the audit log" />
      ) : audit.items.length === 0 ? (
        <Empty title={Object.keys(cleanFilter(filter)).length ? 'No entry matches these filters' : 'No audited action yet'}>
          Changes, sign-ins and refusals are written here as they happen.
        </Empty>
      ) : (
        <>
          <div className="table-scroll">
            <table className="list-table audit-table" data-testid="audit-log">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Result</th>
                  <th scope="col">
                    <span className="sr-only">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {audit.items.map((e) => (
                  <AuditRow key={e.id} entry={e} open={open === e.id} toggle={() => setOpen(open === e.id ? null : e.id)} now={now} />
                ))}
              </tbody>
            </table>
          </div>
          {audit.next && (
            <button type="button" onClick={() => void loadMore().catch(setError)}>
              Older entries
            </button>
          )}
        </>
      )}
    </section>
  );
}

function AuditRow({ entry: e, open, toggle, now }: { entry: AuditEntry; open: boolean; toggle(): void; now: number }) {
  const hasMore = e.before !== null || e.after !== null || (e.details !== null && e.details !== undefined);
  return (
    <>
      <tr data-action={e.action} className={`result-${e.result}`}>
        <td className="nowrap" title={dateTime(e.time)}>
          {compactDateTime(e.time, now)}
        </td>
        <td>
          {e.actor.name ?? e.actor.type}
          {e.actor.role && <span className="muted small"> ({e.actor.role})</span>}
        </td>
        <td>
          <code>{e.action}</code>
        </td>
        <td>
          <span className="ellipsis" title={e.target ?? undefined}>
            {e.target ?? '—'}
          </span>
        </td>
        <td>{e.result === 'success' ? 'success' : <strong className="error-text">{e.result}</strong>}</td>
        <td>
          {hasMore && (
            <button type="button" className="link-button" aria-expanded={open} onClick={toggle}>
              {open ? 'Hide' : 'Details'}
            </button>
          )}
        </td>
      </tr>
      {open && (
        <tr className="audit-details">
          <td colSpan={6}>
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                {e.status ?? '—'} · from {e.source ?? 'unknown'} · request {e.correlation_id ?? '—'}
              </dd>
              {e.before !== null && (
                <>
                  <dt>Before</dt>
                  <dd>
                    <pre>{JSON.stringify(e.before, null, 2)}</pre>
                  </dd>
                </>
              )}
              {e.after !== null && (
                <>
                  <dt>After</dt>
                  <dd>
                    <pre>{JSON.stringify(e.after, null, 2)}</pre>
                  </dd>
                </>
              )}
              {e.details !== null && e.details !== undefined && (
                <>
                  <dt>Details</dt>
                  <dd>
                    <pre>{JSON.stringify(e.details, null, 2)}</pre>
                  </dd>
                </>
              )}
            </dl>
          </td>
        </tr>
      )}
    </>
  );
}
