// Fleet dashboard: counts per state, filters, search, sort and grouping over every agent (all
// in the URL, so a view can be shared and survives a reload), a virtualized list that stays
// smooth at 100,000 agents, start/stop/restart from a row menu or for a selection (the same
// confirmation either way), and keyboard shortcuts.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { KeyboardEvent } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useShallow } from 'zustand/react/shallow';
import type { Agent, LifecycleAction } from '../../api/types';
import { HEALTH_STATUSES, PROCESS_STATUSES, RECOVERY_STATUSES } from '../../api/types';
import { useConsole, useConsoleStore } from '../../store/context';
import type { BulkResult } from '../../store/fleet-slice';
import { Link, agentPath, navigate, useLocation } from '../../router';
import { Badge } from '../common/badges';
import { ConfirmDialog, InfoDialog } from '../common/dialog';
import { label, plural, shortDuration } from '../common/format';
import { Empty, ErrorState, Loading } from '../common/states';
import { AgentsDirectoryHint } from '../packages/agents-directory-hint';
import { RelativeTime } from '../common/relative-time';
import { NEEDS_AMS, StaleNote, useAmsDown } from '../common/link';
import { useNow } from '../common/use-now';
import { describeError } from '../../api/errors';
import { Sparkline } from '../../charts/sparkline';
import { allowedActions } from '../agent/agent-actions';
import {
  DEFAULT_QUERY, type FleetQuery, type GroupRow, type ListRow, type SortKey, type StateCounts, dependsOnLiveState, facets, groupIds, orderedIds, queryFromSearch,
  searchFromQuery, uptimeS,
} from './fleet-view';

const ROW_HEIGHT = 40;

/** A lifecycle action waiting for its confirmation, from the bulk bar or a row menu. */
interface PendingAction {
  action: LifecycleAction;
  agents: Agent[];
  from: 'bulk' | 'row';
}

/** The Agents / Overview switch at the top of the Fleet pages. */
export function FleetTabs({ current }: { current: 'agents' | 'overview' }) {
  const search = useConsoleStore((s) => s.fleetSearch);
  return (
    <nav className="tabs fleet-tabs" aria-label="Fleet views">
      <Link to={`/${search}`} className={`tab${current === 'agents' ? ' active' : ''}`} aria-current={current === 'agents' ? 'page' : undefined}>
        Agents
      </Link>
      <Link to="/overview" className={`tab${current === 'overview' ? ' active' : ''}`} aria-current={current === 'overview' ? 'page' : undefined}>
        Overview
      </Link>
    </nav>
  );
}

export function DashboardView() {
  const { store } = useConsole();
  const { fleet, loadFleet, canControl, fleetSearch, setFleetSearch } = useConsoleStore(
    useShallow((s) => ({ fleet: s.fleet, loadFleet: s.loadFleet, canControl: s.can('agents:control'), fleetSearch: s.fleetSearch, setFleetSearch: s.setFleetSearch })),
  );
  const { search } = useLocation();
  // Back on the Fleet page through a link without a query: the last view the user had.
  useEffect(() => {
    if (!search && fleetSearch) navigate(`/${fleetSearch}`, { replace: true });
  }, []);
  // Opened from a shared link or after a reload: remember this view for the Fleet link.
  useEffect(() => {
    if (search) setFleetSearch(searchFromQuery(queryFromSearch(search)));
  }, [search, setFleetSearch]);
  const query = useMemo(() => queryFromSearch(search), [search]);
  const setQuery = useCallback(
    (patch: Partial<FleetQuery>) => {
      const next = searchFromQuery({ ...queryFromSearch(location.search), ...patch });
      setFleetSearch(next);
      navigate(`/${next}`, { replace: true });
    },
    [setFleetSearch],
  );
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [result, setResult] = useState<BulkResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [shortcuts, setShortcuts] = useState(false);
  const searchBox = useRef<HTMLInputElement>(null);
  const down = useAmsDown();

  // Live events change states, not names, types or labels: the list's members and order are
  // recomputed when agents come or go (membership), and on every change (revision) only when
  // the filters or the sort look at states. Otherwise an event re-renders the visible rows.
  const { agents, revision, membership, counts } = fleet;
  const available = useMemo(() => facets(agents.values()), [agents, membership]);
  const live = dependsOnLiveState(query);
  const shown = useMemo(() => orderedIds(agents.values(), query), [agents, membership, query, live ? revision : -1]);
  const rows = useMemo(() => groupIds(shown, agents, query.groupBy, collapsed), [shown, agents, query.groupBy, collapsed, query.groupBy === 'none' ? -1 : revision]);
  const total = counts.total;
  const filtered = JSON.stringify({ ...query, sort: '', dir: '', groupBy: '' }) !== JSON.stringify({ ...DEFAULT_QUERY, sort: '', dir: '', groupBy: '' });
  const selectedShown = useMemo(
    () => (selected.size === 0 ? [] : shown.filter((id) => selected.has(id)).map((id) => agents.get(id)!).filter(Boolean)),
    [shown, selected, agents, revision],
  );

  // Shortcuts: "/" focuses the search, "?" lists the shortcuts, arrow keys reach the list.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      const target = e.target as HTMLElement | null;
      const typing = !!target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
      if (document.querySelector('dialog[open]')) return;
      if (e.key === '/' && !typing) {
        e.preventDefault();
        searchBox.current?.focus();
        searchBox.current?.select();
      } else if (e.key === '?' && !typing) {
        e.preventDefault();
        setShortcuts(true);
      } else if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && (!typing || target === searchBox.current) && !target?.closest('.fleet-scroll')) {
        const first = document.querySelector<HTMLElement>('.fleet-scroll [data-index] .row-focus');
        if (first) {
          e.preventDefault();
          first.focus();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const run = async () => {
    if (!pending) return;
    setBusy(true);
    const r = await store.getState().controlAgents(
      pending.agents.map((a) => a.id),
      pending.action,
    );
    setBusy(false);
    setPending(null);
    setResult(r);
    if (pending.from === 'bulk') setSelected((prev) => new Set([...prev].filter((id) => r.failed.some((f) => f.id === id))));
  };

  if (fleet.status === 'error' && total === 0) return <ErrorState what="load the agents" error={fleet.error} retry={() => void loadFleet()} />;

  return (
    <section className="view dashboard" aria-labelledby="dashboard-title">
      <header className="view-header">
        <h1 id="dashboard-title">Fleet</h1>
        <p className="view-sub" data-testid="fleet-total">
          {fleet.status === 'loading' ? `Loading agents… ${plural(total, 'agent')} so far` : plural(total, 'agent')}
        </p>
        <StaleNote />
        <button type="button" className="link-button shortcuts-hint" onClick={() => setShortcuts(true)} aria-keyshortcuts="?">
          Keyboard shortcuts (?)
        </button>
      </header>
      <FleetTabs current="agents" />
      <StateCountsBar counts={counts} query={query} setQuery={setQuery} />
      <Toolbar query={query} setQuery={setQuery} types={available.types} labels={available.labels} labelKeys={available.labelKeys} searchRef={searchBox} />
      {fleet.status === 'error' && (
        <p className="inline-error" role="alert">
          Could not refresh the agents: {describeError(fleet.error)}
        </p>
      )}
      {canControl && (
        <BulkBar selected={selectedShown} clear={() => setSelected(new Set())} request={(action) => (setResult(null), setPending({ action, agents: selectedShown, from: 'bulk' }))} down={down} />
      )}
      {result && <BulkResultLine result={result} />}
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
            <button type="button" onClick={() => setQuery({ ...DEFAULT_QUERY, sort: query.sort, dir: query.dir, groupBy: query.groupBy })}>
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
          agents={agents}
          query={query}
          setQuery={setQuery}
          selectable={canControl}
          selected={selected}
          setSelected={setSelected}
          collapsed={collapsed}
          toggleGroup={(key) => setCollapsed((c) => (c.has(key) ? new Set([...c].filter((k) => k !== key)) : new Set([...c, key])))}
          filtered={filtered}
          onAction={(agent, action) => (setResult(null), setPending({ action, agents: [agent], from: 'row' }))}
          down={down}
        />
      )}
      <ConfirmDialog
        open={pending !== null}
        title={pending ? `${label(pending.action)} ${plural(pending.agents.length, 'agent')}?` : ''}
        confirmLabel={pending ? `${label(pending.action)} ${plural(pending.agents.length, 'agent')}` : ''}
        danger={pending?.action === 'stop'}
        busy={busy}
        disabled={down}
        disabledReason={NEEDS_AMS}
        onConfirm={() => void run()}
        onCancel={() => setPending(null)}
      >
        {pending && (
          <p>
            This will {pending.action} {plural(pending.agents.length, 'agent')}:{' '}
            {pending.agents
              .slice(0, 5)
              .map((a) => (pending.agents.length === 1 ? `${a.agent_name} (currently ${a.status})` : a.agent_name))
              .join(', ')}
            {pending.agents.length > 5 ? ` and ${pending.agents.length - 5} more` : ''}.
          </p>
        )}
      </ConfirmDialog>
      <InfoDialog open={shortcuts} title="Keyboard shortcuts" onClose={() => setShortcuts(false)}>
        <dl className="shortcuts" data-testid="shortcuts">
          <dt>
            <kbd>/</kbd>
          </dt>
          <dd>Search the agents</dd>
          <dt>
            <kbd>?</kbd>
          </dt>
          <dd>This list</dd>
          <dt>
            <kbd>↓</kbd> <kbd>↑</kbd>
          </dt>
          <dd>Move through the agents (from the search, or anywhere on the page)</dd>
          <dt>
            <kbd>Home</kbd> <kbd>End</kbd>
          </dt>
          <dd>First and last agent</dd>
          <dt>
            <kbd>Enter</kbd>
          </dt>
          <dd>Open the agent</dd>
          <dt>
            <kbd>Space</kbd>
          </dt>
          <dd>Select the agent (for start, stop or restart of several)</dd>
          <dt>
            <kbd>Esc</kbd>
          </dt>
          <dd>Close a dialog or menu</dd>
        </dl>
      </InfoDialog>
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

function StateCountsBar({ counts, query, setQuery }: { counts: StateCounts; query: FleetQuery; setQuery(p: Partial<FleetQuery>): void }) {
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

function Toolbar({
  query,
  setQuery,
  types,
  labels,
  labelKeys,
  searchRef,
}: {
  query: FleetQuery;
  setQuery(p: Partial<FleetQuery>): void;
  types: string[];
  labels: string[];
  labelKeys: string[];
  searchRef: React.RefObject<HTMLInputElement | null>;
}) {
  return (
    <div className="toolbar" role="search">
      <label className="field grow">
        <span>
          Search <kbd className="key-hint">/</kbd>
        </span>
        <input
          ref={searchRef}
          type="search"
          aria-label="Search"
          aria-keyshortcuts="/"
          value={query.text}
          placeholder="Name, ID, type, version or label"
          onChange={(e) => setQuery({ text: e.target.value })}
        />
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
  // A value from a shared URL that this fleet no longer has is still shown, so it can be cleared.
  const all = value && !options.includes(value) ? [...options, value] : options;
  return (
    <label className="field">
      <span>{title}</span>
      <select aria-label={title} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">Any</option>
        {all.map((o) => (
          <option key={o} value={o}>
            {raw ? o : label(o)}
          </option>
        ))}
      </select>
    </label>
  );
}

const COLUMNS: Array<{ key: SortKey | null; title: string; className: string; firstDir?: 'asc' | 'desc' }> = [
  { key: 'name', title: 'Agent', className: 'col-name' },
  { key: 'type', title: 'Type', className: 'col-type' },
  { key: 'version', title: 'Version', className: 'col-version' },
  { key: 'status', title: 'Process', className: 'col-status' },
  { key: 'health', title: 'Health', className: 'col-health' },
  { key: 'recovery', title: 'Recovery', className: 'col-recovery' },
  { key: 'heartbeat', title: 'Last heartbeat', className: 'col-heartbeat', firstDir: 'desc' },
  { key: 'uptime', title: 'Uptime', className: 'col-uptime', firstDir: 'desc' },
  { key: 'restarts', title: 'Restarts', className: 'col-restarts', firstDir: 'desc' },
  { key: null, title: 'CPU', className: 'col-cpu' },
  { key: null, title: 'Memory', className: 'col-mem' },
];

function AgentList(props: {
  rows: ListRow[];
  /** The ids shown, in order (without group headings). */
  shown: string[];
  agents: ReadonlyMap<string, Agent>;
  query: FleetQuery;
  setQuery(p: Partial<FleetQuery>): void;
  selectable: boolean;
  selected: Set<string>;
  setSelected(s: Set<string>): void;
  collapsed: Set<string>;
  toggleGroup(key: string): void;
  filtered: boolean;
  onAction(agent: Agent, action: LifecycleAction): void;
  down: boolean;
}) {
  const { rows, shown, agents, query, setQuery, selectable, selected, setSelected } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 8 });
  const allSelected = shown.length > 0 && selected.size >= shown.length && shown.every((id) => selected.has(id));
  const [menu, setMenu] = useState<{ agent: Agent; top: number; left: number } | null>(null);

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
    if (!current || (e.target as HTMLElement).closest('.row-menu')) return;
    const index = Number(current.dataset.index);
    let target: number | null = null;
    if (e.key === 'ArrowDown') target = Math.min(rows.length - 1, index + 1);
    else if (e.key === 'ArrowUp') target = Math.max(0, index - 1);
    else if (e.key === 'Home') target = 0;
    else if (e.key === 'End') target = rows.length - 1;
    else if (e.key === ' ' && (e.target as HTMLElement).tagName === 'A' && selectable) {
      const row = rows[index];
      if (typeof row === 'string') {
        e.preventDefault();
        toggle(row);
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
    <>
    <div
      className={`fleet-table${selectable ? '' : ' no-select'}`}
      role="table"
      aria-label={`Agents, ${plural(shown.length, 'agent')}${props.filtered ? ' matching the filters' : ''}`}
      aria-rowcount={rows.length + 1}
    >
      <div className="fleet-row fleet-head" role="row" aria-rowindex={1}>
        {selectable && (
          <span className="col-select" role="columnheader">
            <input
              type="checkbox"
              aria-label={allSelected ? 'Clear the selection' : `Select all ${shown.length} shown agents`}
              checked={allSelected}
              onChange={() => setSelected(allSelected ? new Set() : new Set(shown))}
            />
          </span>
        )}
        {COLUMNS.map((c) => (
          <span key={c.title} role="columnheader" className={c.className} aria-sort={c.key && query.sort === c.key ? (query.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
            {c.key ? (
              <button
                type="button"
                className="sort"
                onClick={() => setQuery(query.sort === c.key ? { dir: query.dir === 'asc' ? 'desc' : 'asc' } : { sort: c.key!, dir: c.firstDir ?? 'asc' })}
              >
                {c.title}
                <span aria-hidden="true">{query.sort === c.key ? (query.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
              </button>
            ) : (
              c.title
            )}
          </span>
        ))}
        <span role="columnheader" className="col-actions">
          <span className="sr-only">Actions</span>
        </span>
      </div>
      <div ref={scroller} className="fleet-scroll" onKeyDown={onKeyDown} onScroll={() => menu && setMenu(null)} data-testid="fleet-scroll">
        <div className="fleet-spacer" style={{ height: virtualizer.getTotalSize() }} role="rowgroup">
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            const agent = typeof row === 'string' ? agents.get(row) : undefined;
            if (typeof row === 'string' && !agent) return null;
            return (
              <div
                key={typeof row === 'string' ? row : `g:${row.key}`}
                className={`fleet-row ${typeof row === 'string' ? '' : 'fleet-group'} ${typeof row === 'string' && selected.has(row) ? 'selected' : ''}`}
                role="row"
                aria-rowindex={item.index + 2}
                data-index={item.index}
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                {typeof row !== 'string' ? (
                  <GroupHeader row={row} collapsed={props.collapsed.has(row.key)} toggle={() => props.toggleGroup(row.key)} />
                ) : (
                  <AgentRow
                    agent={agent!}
                    selectable={selectable}
                    selected={selected.has(row)}
                    toggle={toggle}
                    menuOpen={menu?.agent.id === row}
                    openMenu={(el) => {
                      const r = el.getBoundingClientRect();
                      setMenu(menu?.agent.id === row ? null : { agent: agent!, top: r.bottom + 2, left: r.right });
                    }}
                  />
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
      {/* Outside the table: a menu is not one of its rows. */}
      {menu && (
        <RowMenu
          agent={agents.get(menu.agent.id) ?? menu.agent}
          top={menu.top}
          left={menu.left}
          down={props.down}
          close={(refocus) => {
            const id = menu.agent.id;
            setMenu(null);
            if (refocus) scroller.current?.querySelector<HTMLElement>(`[data-menu-for="${CSS.escape(id)}"]`)?.focus();
          }}
          choose={(action) => {
            setMenu(null);
            props.onAction(menu.agent, action);
          }}
        />
      )}
    </>
  );
}

function GroupHeader({ row, collapsed, toggle }: { row: GroupRow; collapsed: boolean; toggle(): void }) {
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

function Uptime({ agent }: { agent: Agent }) {
  const now = useNow();
  const s = uptimeS(agent, now);
  return <>{s === null ? <span className="muted">—</span> : shortDuration(s)}</>;
}

function AgentRow({
  agent,
  selectable,
  selected,
  toggle,
  menuOpen,
  openMenu,
}: {
  agent: Agent;
  selectable: boolean;
  selected: boolean;
  toggle(id: string): void;
  menuOpen: boolean;
  openMenu(el: HTMLElement): void;
}) {
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
      <span role="cell" className="col-uptime">
        <Uptime agent={agent} />
      </span>
      <span role="cell" className="col-restarts">
        {agent.restart_count ?? 0}
      </span>
      <span role="cell" className="col-cpu">
        <Sparkline agentId={agent.id} metric="cpu_percent" unit="%" />
      </span>
      <span role="cell" className="col-mem">
        <Sparkline agentId={agent.id} metric="memory_mb" unit="MB" />
      </span>
      <span role="cell" className="col-actions">
        <button
          type="button"
          className="row-menu-button"
          aria-haspopup="menu"
          aria-expanded={menuOpen}
          aria-label={`Actions for ${agent.agent_name}`}
          data-menu-for={agent.id}
          onClick={(e) => openMenu(e.currentTarget)}
        >
          ⋯
        </button>
      </span>
    </>
  );
}

/** The row's menu: start, stop, restart (each confirmed like the bulk actions) and open. */
function RowMenu({
  agent,
  top,
  left,
  down,
  close,
  choose,
}: {
  agent: Agent;
  top: number;
  left: number;
  down: boolean;
  close(refocus: boolean): void;
  choose(action: LifecycleAction): void;
}) {
  const canControl = useConsoleStore((s) => s.can('agents:control'));
  const ref = useRef<HTMLUListElement>(null);
  const allowed = allowedActions(agent);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[role=menuitem]:not([aria-disabled=true])')?.focus();
    const outside = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node) && !(e.target as HTMLElement).closest?.('.row-menu-button')) close(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, []);
  const onKey = (e: KeyboardEvent<HTMLUListElement>) => {
    const list = [...(ref.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const i = list.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      list[(i + 1) % list.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      list[(i - 1 + list.length) % list.length]?.focus();
    }
  };
  const why = (a: LifecycleAction) =>
    !canControl ? 'Needs the agents:control permission' : down ? NEEDS_AMS : allowed.reasons[a] ?? undefined;
  return (
    <ul ref={ref} className="row-menu" role="menu" aria-label={`Actions for ${agent.agent_name}`} style={{ top, left }} onKeyDown={onKey} data-testid="row-menu">
      {(['start', 'stop', 'restart'] as const).map((a) => {
        const reason = why(a);
        const disabled = reason !== undefined;
        return (
          <li key={a} role="none">
            <button type="button" role="menuitem" aria-disabled={disabled} title={reason} onClick={() => !disabled && choose(a)}>
              {label(a)}…{disabled && <span className="menu-why">{reason}</span>}
            </button>
          </li>
        );
      })}
      <li role="none">
        <Link to={agentPath(agent.id)} role="menuitem">
          Open {agent.agent_name}
        </Link>
      </li>
    </ul>
  );
}

function BulkBar({ selected, clear, request, down }: { selected: Agent[]; clear(): void; request(action: LifecycleAction): void; down: boolean }) {
  return (
    <div className="bulk-bar" aria-live="polite">
      {selected.length > 0 ? (
        <>
          <span data-testid="selection-count">{plural(selected.length, 'agent')} selected</span>
          {(['start', 'stop', 'restart'] as const).map((a) => (
            <button key={a} type="button" disabled={down} title={down ? NEEDS_AMS : undefined} onClick={() => request(a)}>
              {label(a)}…
            </button>
          ))}
          <button type="button" className="link-button" onClick={clear}>
            Clear selection
          </button>
        </>
      ) : (
        <span className="muted">Select agents to start, stop or restart several at once, or use a row's ⋯ menu.</span>
      )}
    </div>
  );
}

const PAST: Record<LifecycleAction, string> = { start: 'Started', stop: 'Stopped', restart: 'Restarted' };

function BulkResultLine({ result }: { result: BulkResult }) {
  const agents = useConsoleStore((s) => s.fleet.agents);
  const name = (id: string) => agents.get(id)?.agent_name ?? id;
  return (
    <p className={result.failed.length ? 'bulk-result error-text' : 'bulk-result'} role="status" data-testid="bulk-result">
      {PAST[result.action]} {result.ok.length} of {result.ok.length + result.failed.length}.
      {result.failed.length > 0 &&
        ` ${result.failed.length} failed: ${result.failed
          .slice(0, 3)
          .map((f, i) => `${name(f.id)} — ${describeError(f.error)}${i === 2 && result.failed.length > 3 ? ' …' : ''}`)
          .join('; ')}`}
    </p>
  );
}
