// Fleet dashboard: counts per state, filters, search, sort and grouping over every agent, a
// virtualized list that stays smooth at 10,000 agents, and bulk start/stop/restart.
import { useCallback, useMemo, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useShallow } from 'zustand/react/shallow';
import type { Agent, LifecycleAction } from '../../api/types';
import { HEALTH_STATUSES, PROCESS_STATUSES, RECOVERY_STATUSES } from '../../api/types';
import { useConsole, useConsoleStore } from '../../store/context';
import type { BulkResult } from '../../store/fleet-slice';
import { Link, agentPath } from '../../router';
import { Badge } from '../common/badges';
import { ConfirmDialog } from '../common/dialog';
import { label, plural } from '../common/format';
import { Empty, ErrorState, Loading } from '../common/states';
import { AgentsDirectoryHint } from '../packages/agents-directory-hint';
import { RelativeTime } from '../common/relative-time';
import { describeError } from '../../api/errors';
import { Sparkline } from '../../charts/sparkline';
import { DEFAULT_QUERY, STABLE_SORTS, type FleetQuery, type FleetRow, type SortKey, facets, filterAgents, groupRows, sortAgents, stateCounts } from './fleet-view';

const ROW_HEIGHT = 40;

export function DashboardView() {
  const { fleet, query, setDashboard, loadFleet, canControl } = useConsoleStore(
    useShallow((s) => ({ fleet: s.fleet, query: s.dashboard, setDashboard: s.setDashboard, loadFleet: s.loadFleet, canControl: s.can('agents:control') })),
  );
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());

  // Live events change states, not names, types or labels: what depends only on those is
  // recomputed when agents come or go (membership), the rest on every change (revision).
  const { agents, revision, membership } = fleet;
  const counts = useMemo(() => stateCounts(agents.values()), [agents, revision]);
  const available = useMemo(() => facets(agents.values()), [agents, membership]);
  const stable = STABLE_SORTS.has(query.sort);
  const sortedIds = useMemo(
    () => (stable ? sortAgents([...agents.values()], query.sort, query.dir).map((a) => a.id) : null),
    [agents, membership, stable, query.sort, query.dir],
  );
  const shown = useMemo(() => {
    if (sortedIds) return filterAgents(sortedIds.map((id) => agents.get(id)!).filter(Boolean), query);
    return sortAgents(filterAgents(agents.values(), query), query.sort, query.dir);
  }, [agents, revision, sortedIds, query]);
  const rows = useMemo(() => groupRows(shown, query.groupBy, collapsed), [shown, query.groupBy, collapsed]);
  const total = counts.total;
  const filtered = JSON.stringify({ ...query, sort: '', dir: '', groupBy: '' }) !== JSON.stringify({ ...DEFAULT_QUERY, sort: '', dir: '', groupBy: '' });

  const selectedShown = useMemo(() => shown.filter((a) => selected.has(a.id)), [shown, selected]);

  if (fleet.status === 'error' && total === 0) return <ErrorState what="load the agents" error={fleet.error} retry={() => void loadFleet()} />;

  return (
    <section className="view dashboard" aria-labelledby="dashboard-title">
      <header className="view-header">
        <h1 id="dashboard-title">Fleet</h1>
        <p className="view-sub" data-testid="fleet-total">
          {fleet.status === 'loading' ? `Loading agents… ${plural(total, 'agent')} so far` : plural(total, 'agent')}
        </p>
      </header>
      <StateCountsBar counts={counts} query={query} setQuery={setDashboard} />
      <Toolbar query={query} setQuery={setDashboard} types={available.types} labels={available.labels} labelKeys={available.labelKeys} />
      {fleet.status === 'error' && <p className="inline-error" role="alert">Could not refresh the agents: {describeError(fleet.error)}</p>}
      {canControl && (
        <BulkBar
          selected={selectedShown}
          clear={() => setSelected(new Set())}
          onDone={(r) => setSelected((prev) => new Set([...prev].filter((id) => r.failed.some((f) => f.id === id))))}
        />
      )}
      {total === 0 && fleet.status === 'loading' ? (
        <Loading what="agents" />
      ) : total === 0 ? (
        <Empty title="No agents yet" action={<Link to="/packages">Go to Packages</Link>}>
          <AgentsDirectoryHint />
          <p>Agents started elsewhere can register themselves with a discovery token (Packages page).</p>
        </Empty>
      ) : shown.length === 0 ? (
        <Empty
          title="No agent matches these filters"
          action={
            <button type="button" onClick={() => setDashboard({ ...DEFAULT_QUERY, sort: query.sort, dir: query.dir, groupBy: query.groupBy })}>
              Clear filters
            </button>
          }
        >
          {plural(total, 'agent')} in the fleet; none has {describeQuery(query)}.
        </Empty>
      ) : (
        <AgentList
          rows={rows}
          shown={shown}
          query={query}
          setQuery={setDashboard}
          selectable={canControl}
          selected={selected}
          setSelected={setSelected}
          collapsed={collapsed}
          toggleGroup={(key) => setCollapsed((c) => (c.has(key) ? new Set([...c].filter((k) => k !== key)) : new Set([...c, key])))}
          filtered={filtered}
        />
      )}
    </section>
  );
}

function describeQuery(q: FleetQuery): string {
  const parts: string[] = [];
  if (q.status) parts.push(`status ${q.status}`);
  if (q.health) parts.push(`health ${q.health}`);
  if (q.recovery) parts.push(`recovery ${q.recovery}`);
  if (q.type) parts.push(`type ${q.type}`);
  if (q.label) parts.push(`label ${q.label}`);
  if (q.text.trim()) parts.push(`“${q.text.trim()}” in its name, ID, type, version or labels`);
  return parts.join(', ') || 'these properties';
}

function StateCountsBar({ counts, query, setQuery }: { counts: ReturnType<typeof stateCounts>; query: FleetQuery; setQuery(p: Partial<FleetQuery>): void }) {
  const group = (title: string, field: 'status' | 'health' | 'recovery', values: readonly string[], source: Record<string, number | undefined>) => (
    <div className="count-group" role="group" aria-label={`${title} counts`}>
      <span className="count-group-title">{title}</span>
      {values
        .filter((v) => (source[v] ?? 0) > 0 || (field === 'health' && v !== 'unknown') || v === 'running' || v === 'failed' || v === 'in_progress')
        .map((v) => {
          const active = query[field] === v;
          return (
            <button
              key={v}
              type="button"
              className={`count count-${field}-${v}${active ? ' active' : ''}`}
              aria-pressed={active}
              onClick={() => setQuery({ [field]: active ? '' : v } as Partial<FleetQuery>)}
              data-testid={`count-${field}-${v}`}
            >
              <span className="count-n">{(source[v] ?? 0).toLocaleString('en-US')}</span> <span className="count-label">{label(v)}</span>
            </button>
          );
        })}
    </div>
  );
  return (
    <div className="counts">
      {group('Process', 'status', PROCESS_STATUSES, counts.process)}
      {group('Health', 'health', HEALTH_STATUSES, counts.health)}
      {group('Recovery', 'recovery', RECOVERY_STATUSES.filter((r) => r !== 'none'), counts.recovery)}
    </div>
  );
}

function Toolbar({ query, setQuery, types, labels, labelKeys }: { query: FleetQuery; setQuery(p: Partial<FleetQuery>): void; types: string[]; labels: string[]; labelKeys: string[] }) {
  return (
    <div className="toolbar" role="search">
      <label className="field grow">
        <span>Search</span>
        <input type="search" value={query.text} placeholder="Name, ID, type, version or label" onChange={(e) => setQuery({ text: e.target.value })} />
      </label>
      <Select label="Status" value={query.status} onChange={(v) => setQuery({ status: v as FleetQuery['status'] })} options={PROCESS_STATUSES} />
      <Select label="Health" value={query.health} onChange={(v) => setQuery({ health: v as FleetQuery['health'] })} options={HEALTH_STATUSES} />
      <Select label="Type" value={query.type} onChange={(v) => setQuery({ type: v })} options={types} raw />
      <Select label="Label" value={query.label} onChange={(v) => setQuery({ label: v })} options={labels} raw />
      <label className="field">
        <span>Group by</span>
        <select aria-label="Group by" value={query.groupBy} onChange={(e) => setQuery({ groupBy: e.target.value as FleetQuery['groupBy'] })}>
          <option value="none">Nothing</option>
          <option value="type">Type</option>
          {labelKeys.map((k) => (
            <option key={k} value={`label:${k}`}>
              Label {k}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

function Select({ label: title, value, onChange, options, raw }: { label: string; value: string; onChange(v: string): void; options: readonly string[]; raw?: boolean }) {
  return (
    <label className="field">
      <span>{title}</span>
      <select aria-label={title} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {raw ? o : label(o)}
          </option>
        ))}
      </select>
    </label>
  );
}

const COLUMNS: Array<{ key: SortKey | null; title: string; className: string }> = [
  { key: 'name', title: 'Agent', className: 'col-name' },
  { key: 'type', title: 'Type', className: 'col-type' },
  { key: 'version', title: 'Version', className: 'col-version' },
  { key: 'status', title: 'Process', className: 'col-status' },
  { key: 'health', title: 'Health', className: 'col-health' },
  { key: 'recovery', title: 'Recovery', className: 'col-recovery' },
  { key: 'heartbeat', title: 'Last heartbeat', className: 'col-heartbeat' },
  { key: null, title: 'CPU', className: 'col-cpu' },
  { key: null, title: 'Memory', className: 'col-mem' },
];

function AgentList(props: {
  rows: FleetRow[];
  shown: Agent[];
  query: FleetQuery;
  setQuery(p: Partial<FleetQuery>): void;
  selectable: boolean;
  selected: Set<string>;
  setSelected(s: Set<string>): void;
  collapsed: Set<string>;
  toggleGroup(key: string): void;
  filtered: boolean;
}) {
  const { rows, shown, query, setQuery, selectable, selected, setSelected } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 8 });
  const allSelected = shown.length > 0 && shown.every((a) => selected.has(a.id));

  const toggle = useCallback(
    (id: string) => {
      const next = new Set(selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      setSelected(next);
    },
    [selected, setSelected],
  );

  // Arrow keys move between rows (scrolling the virtual list); Space selects; Enter opens.
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const current = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-index]');
    if (!current) return;
    const index = Number(current.dataset.index);
    let target: number | null = null;
    if (e.key === 'ArrowDown') target = Math.min(rows.length - 1, index + 1);
    else if (e.key === 'ArrowUp') target = Math.max(0, index - 1);
    else if (e.key === 'Home') target = 0;
    else if (e.key === 'End') target = rows.length - 1;
    else if (e.key === ' ' && (e.target as HTMLElement).tagName === 'A' && selectable) {
      const row = rows[index];
      if (row.kind === 'agent') {
        e.preventDefault();
        toggle(row.agent.id);
      }
      return;
    }
    if (target === null) return;
    e.preventDefault();
    virtualizer.scrollToIndex(target, { align: 'auto' });
    const focusRow = () => scroller.current?.querySelector<HTMLElement>(`[data-index="${target}"] .row-focus`);
    // The row is usually rendered already (overscan); after a long jump it is after the next frame.
    const row = focusRow();
    if (row) row.focus();
    else requestAnimationFrame(() => focusRow()?.focus());
  };

  return (
    <div className="fleet-table" role="table" aria-label={`Agents, ${plural(shown.length, 'agent')}${props.filtered ? ' matching the filters' : ''}`} aria-rowcount={rows.length + 1}>
      <div className="fleet-row fleet-head" role="row" aria-rowindex={1}>
        {selectable && (
          <span className="col-select" role="columnheader">
            <input
              type="checkbox"
              aria-label={allSelected ? 'Clear the selection' : `Select all ${shown.length} shown agents`}
              checked={allSelected}
              onChange={() => setSelected(allSelected ? new Set() : new Set(shown.map((a) => a.id)))}
            />
          </span>
        )}
        {COLUMNS.map((c) => (
          <span key={c.title} role="columnheader" className={c.className} aria-sort={c.key && query.sort === c.key ? (query.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
            {c.key ? (
              <button
                type="button"
                className="sort"
                onClick={() => setQuery(query.sort === c.key ? { dir: query.dir === 'asc' ? 'desc' : 'asc' } : { sort: c.key!, dir: c.key === 'heartbeat' ? 'desc' : 'asc' })}
              >
                {c.title}
                <span aria-hidden="true">{query.sort === c.key ? (query.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
              </button>
            ) : (
              c.title
            )}
          </span>
        ))}
      </div>
      <div ref={scroller} className="fleet-scroll" onKeyDown={onKeyDown} data-testid="fleet-scroll">
        <div className="fleet-spacer" style={{ height: virtualizer.getTotalSize() }} role="rowgroup">
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            return (
              <div
                key={row.kind === 'agent' ? row.agent.id : `g:${row.key}`}
                className={`fleet-row ${row.kind === 'group' ? 'fleet-group' : ''} ${row.kind === 'agent' && selected.has(row.agent.id) ? 'selected' : ''}`}
                role="row"
                aria-rowindex={item.index + 2}
                data-index={item.index}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                {row.kind === 'group' ? (
                  <GroupHeader row={row} collapsed={props.collapsed.has(row.key)} toggle={() => props.toggleGroup(row.key)} />
                ) : (
                  <AgentRow agent={row.agent} selectable={selectable} selected={selected.has(row.agent.id)} toggle={toggle} />
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function GroupHeader({ row, collapsed, toggle }: { row: Extract<FleetRow, { kind: 'group' }>; collapsed: boolean; toggle(): void }) {
  const c = row.counts;
  return (
    <span role="cell" className="group-cell">
      <button type="button" className="row-focus group-toggle" aria-expanded={!collapsed} onClick={toggle}>
        <span aria-hidden="true">{collapsed ? '▸' : '▾'}</span> {row.label}
      </button>
      <span className="group-counts">
        {plural(c.total, 'agent')} · {c.process.running ?? 0} running · {c.health.healthy ?? 0} healthy
        {(c.health.warning ?? 0) > 0 && ` · ${c.health.warning} warning`}
        {(c.health.critical ?? 0) > 0 && ` · ${c.health.critical} critical`}
        {(c.process.failed ?? 0) > 0 && ` · ${c.process.failed} failed`}
      </span>
    </span>
  );
}

function AgentRow({ agent, selectable, selected, toggle }: { agent: Agent; selectable: boolean; selected: boolean; toggle(id: string): void }) {
  return (
    <>
      {selectable && (
        <span role="cell" className="col-select">
          <input type="checkbox" aria-label={`Select ${agent.agent_name}`} checked={selected} onChange={() => toggle(agent.id)} />
        </span>
      )}
      <span role="cell" className="col-name">
        <Link to={agentPath(agent.id)} className="row-focus agent-link" title={agent.id}>
          {agent.agent_name}
        </Link>
        {Object.keys(agent.labels).length > 0 && (
          <span className="row-labels">
            {Object.entries(agent.labels)
              .slice(0, 2)
              .map(([k, v]) => `${k}:${v}`)
              .join(' ')}
          </span>
        )}
      </span>
      <span role="cell" className="col-type">
        {agent.agent_type}
      </span>
      <span role="cell" className="col-version">
        {agent.agent_version}
      </span>
      <span role="cell" className="col-status">
        <Badge kind="process" value={agent.status} />
      </span>
      <span role="cell" className="col-health">
        <Badge kind="health" value={agent.health} />
      </span>
      <span role="cell" className="col-recovery">
        {agent.recovery === 'none' ? <span className="muted">—</span> : <Badge kind="recovery" value={agent.recovery} />}
      </span>
      <span role="cell" className="col-heartbeat">
        <RelativeTime iso={agent.last_heartbeat} />
      </span>
      <span role="cell" className="col-cpu">
        <Sparkline agentId={agent.id} metric="cpu_percent" max={100} unit="%" />
      </span>
      <span role="cell" className="col-mem">
        <Sparkline agentId={agent.id} metric="memory_mb" unit="MB" />
      </span>
    </>
  );
}

const PAST: Record<LifecycleAction, string> = { start: 'Started', stop: 'Stopped', restart: 'Restarted' };

function BulkBar({ selected, clear, onDone }: { selected: Agent[]; clear(): void; onDone(r: BulkResult): void }) {
  const { store } = useConsole();
  const [pending, setPending] = useState<LifecycleAction | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<BulkResult | null>(null);
  const run = async () => {
    if (!pending) return;
    setBusy(true);
    const r = await store.getState().controlAgents(
      selected.map((a) => a.id),
      pending,
    );
    setBusy(false);
    setPending(null);
    setResult(r);
    onDone(r);
  };
  const names = (ids: string[]) => ids.map((id) => store.getState().fleet.agents.get(id)?.agent_name ?? id);
  return (
    <div className="bulk-bar" aria-live="polite">
      {selected.length > 0 ? (
        <>
          <span data-testid="selection-count">{plural(selected.length, 'agent')} selected</span>
          {(['start', 'stop', 'restart'] as const).map((a) => (
            <button key={a} type="button" onClick={() => (setResult(null), setPending(a))}>
              {label(a)}…
            </button>
          ))}
          <button type="button" className="link-button" onClick={clear}>
            Clear selection
          </button>
        </>
      ) : (
        <span className="muted">Select agents to start, stop or restart several at once.</span>
      )}
      {result && (
        <span className={result.failed.length ? 'bulk-result error-text' : 'bulk-result'} role="status" data-testid="bulk-result">
          {PAST[result.action]} {result.ok.length} of {result.ok.length + result.failed.length}.
          {result.failed.length > 0 &&
            ` ${result.failed.length} failed: ${result.failed
              .slice(0, 3)
              .map((f, i) => `${names([f.id])[0]} — ${describeError(f.error)}${i === 2 && result.failed.length > 3 ? ' …' : ''}`)
              .join('; ')}`}
        </span>
      )}
      <ConfirmDialog
        open={pending !== null}
        title={pending ? `${label(pending)} ${plural(selected.length, 'agent')}?` : ''}
        confirmLabel={pending ? `${label(pending)} ${plural(selected.length, 'agent')}` : ''}
        danger={pending === 'stop'}
        busy={busy}
        onConfirm={() => void run()}
        onCancel={() => setPending(null)}
      >
        <p>
          This will {pending} {plural(selected.length, 'agent')}: {names(selected.slice(0, 5).map((a) => a.id)).join(', ')}
          {selected.length > 5 ? ` and ${selected.length - 5} more` : ''}.
        </p>
      </ConfirmDialog>
    </div>
  );
}

