// The dashboard's list, as pure functions: filter (state, health, type, label, text), sort,
// group by type or label, and the counts per state shown at the top.
import type { Agent, HealthStatus, ProcessStatus, RecoveryStatus } from '../../api/types';
import type { FleetCounts } from '../../desktop-bridge';

export type SortKey = 'name' | 'status' | 'health' | 'recovery' | 'heartbeat' | 'type' | 'version' | 'uptime' | 'restarts';
export const SORT_KEYS: readonly SortKey[] = ['name', 'status', 'health', 'recovery', 'heartbeat', 'type', 'version', 'uptime', 'restarts'];
export type GroupBy = 'none' | 'type' | `label:${string}`;

export interface FleetQuery {
  text: string;
  status: ProcessStatus | '';
  health: HealthStatus | '';
  recovery: RecoveryStatus | '';
  type: string;
  /** `key:value`, or `key` alone for any value. */
  label: string;
  sort: SortKey;
  dir: 'asc' | 'desc';
  groupBy: GroupBy;
}

export const DEFAULT_QUERY: FleetQuery = { text: '', status: '', health: '', recovery: '', type: '', label: '', sort: 'name', dir: 'asc', groupBy: 'none' };

// Worst first, so sorting by health or status puts trouble on top.
const HEALTH_RANK: Record<HealthStatus, number> = { critical: 0, warning: 1, unknown: 2, healthy: 3 };
const STATUS_RANK: Record<ProcessStatus, number> = { failed: 0, degraded: 1, stopping: 2, starting: 3, stopped: 4, registered: 5, discovered: 6, running: 7 };
const STATUS_NAMES = Object.keys(STATUS_RANK) as ProcessStatus[];
const RECOVERY_RANK: Record<RecoveryStatus, number> = { failed: 0, in_progress: 1, success: 2, none: 3 };

function labelMatches(agent: Agent, selector: string): boolean {
  const at = selector.indexOf(':');
  if (at < 0) return selector in agent.labels;
  const key = selector.slice(0, at);
  return agent.labels[key] === selector.slice(at + 1);
}

function textMatches(agent: Agent, needle: string): boolean {
  if (agent.agent_name.toLowerCase().includes(needle) || agent.id.toLowerCase().includes(needle) || agent.agent_type.includes(needle)) return true;
  if (agent.agent_version.includes(needle)) return true;
  for (const k in agent.labels) if (`${k}:${agent.labels[k]}`.toLowerCase().includes(needle)) return true;
  return false;
}

export function filterAgents(agents: Iterable<Agent>, q: FleetQuery): Agent[] {
  const needle = q.text.trim().toLowerCase();
  const out: Agent[] = [];
  for (const a of agents) {
    if (q.status && a.status !== q.status) continue;
    if (q.health && a.health !== q.health) continue;
    if (q.recovery && a.recovery !== q.recovery) continue;
    if (q.type && a.agent_type !== q.type) continue;
    if (q.label && !labelMatches(a, q.label)) continue;
    if (needle && !textMatches(a, needle)) continue;
    out.push(a);
  }
  return out;
}

// Natural order for names ("agent2" before "agent10"): digit runs padded. Cached per row
// object; live updates replace the object, so a stale key is never used.
const nameKeys = new WeakMap<Agent, string>();
export function nameKey(a: Agent): string {
  let k = nameKeys.get(a);
  if (k === undefined) nameKeys.set(a, (k = a.agent_name.toLowerCase().replace(/\d+/g, (d) => d.padStart(12, '0'))));
  return k;
}

function sortValue(a: Agent, key: SortKey): number | string {
  switch (key) {
    case 'name':
      return nameKey(a);
    case 'status':
      return STATUS_RANK[a.status] ?? 99;
    case 'health':
      return HEALTH_RANK[a.health] ?? 99;
    case 'recovery':
      return RECOVERY_RANK[a.recovery] ?? 99;
    case 'heartbeat':
      return a.last_heartbeat ? Date.parse(a.last_heartbeat) : -Infinity;
    case 'type':
      return a.agent_type;
    case 'version':
      return a.agent_version;
    case 'uptime':
      // Longest running first when descending; agents not running sort as no uptime at all.
      return a.start_time && (a.status === 'running' || a.status === 'degraded') ? -Date.parse(a.start_time) : -Infinity;
    case 'restarts':
      return a.restart_count ?? 0;
  }
}

/** Seconds since the process started, for a running (or degraded) agent; null otherwise. */
export function uptimeS(a: Pick<Agent, 'status' | 'start_time'>, nowMs: number): number | null {
  if (!a.start_time || (a.status !== 'running' && a.status !== 'degraded')) return null;
  return Math.max(0, (nowMs - Date.parse(a.start_time)) / 1000);
}

const QUERY_KEYS: Array<[keyof FleetQuery, string]> = [
  ['text', 'q'],
  ['status', 'status'],
  ['health', 'health'],
  ['recovery', 'recovery'],
  ['type', 'type'],
  ['label', 'label'],
  ['sort', 'sort'],
  ['dir', 'dir'],
  ['groupBy', 'group'],
];

/**
 * The fleet table's filters, sort and grouping from the URL's query string (unknown or bad
 * values fall back to the defaults), so a view can be shared and survives a reload.
 */
export function queryFromSearch(search: string): FleetQuery {
  const p = new URLSearchParams(search);
  const q: FleetQuery = { ...DEFAULT_QUERY };
  const text = p.get('q');
  if (text) q.text = text;
  const status = p.get('status');
  if (status && (STATUS_NAMES as readonly string[]).includes(status)) q.status = status as ProcessStatus;
  const health = p.get('health');
  if (health && health in HEALTH_RANK) q.health = health as HealthStatus;
  const recovery = p.get('recovery');
  if (recovery && recovery in RECOVERY_RANK) q.recovery = recovery as RecoveryStatus;
  q.type = p.get('type') ?? '';
  q.label = p.get('label') ?? '';
  const sort = p.get('sort');
  if (sort && (SORT_KEYS as readonly string[]).includes(sort)) q.sort = sort as SortKey;
  const dir = p.get('dir');
  if (dir === 'asc' || dir === 'desc') q.dir = dir;
  const group = p.get('group');
  if (group === 'type' || (group && /^label:.+/.test(group))) q.groupBy = group as GroupBy;
  return q;
}

/** The query string ("?status=failed&sort=health") of everything that differs from the defaults; '' when nothing does. */
export function searchFromQuery(q: FleetQuery): string {
  const p = new URLSearchParams();
  for (const [key, param] of QUERY_KEYS) if (q[key] !== DEFAULT_QUERY[key] && q[key] !== '') p.set(param, String(q[key]));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * Sorted copy; ties broken by name then id so the order is stable under live updates. Sorts
 * indices over parallel key arrays: at 100,000 agents, an object per agent for the sort was
 * most of the garbage the dashboard made.
 */
export function sortAgents(list: Agent[], key: SortKey, dir: 'asc' | 'desc'): Agent[] {
  const sign = dir === 'asc' ? 1 : -1;
  const n = list.length;
  const keys = new Array<number | string>(n);
  const names = new Array<string>(n);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    names[i] = nameKey(list[i]);
    keys[i] = key === 'name' ? names[i] : sortValue(list[i], key);
    order[i] = i;
  }
  order.sort((x, y) => {
    const kx = keys[x];
    const ky = keys[y];
    if (kx < ky) return -sign;
    if (kx > ky) return sign;
    if (names[x] < names[y]) return -1;
    if (names[x] > names[y]) return 1;
    const ix = list[x].id;
    const iy = list[y].id;
    return ix < iy ? -1 : ix > iy ? 1 : 0;
  });
  const out = new Array<Agent>(n);
  for (let i = 0; i < n; i++) out[i] = list[order[i]];
  return out;
}

/** Whether the list's members or order depend on what live events change (states, heartbeats, uptime, restarts). */
export function dependsOnLiveState(q: FleetQuery): boolean {
  return !!(q.status || q.health || q.recovery) || !STABLE_SORTS.has(q.sort);
}

/** The ids the list shows, in its order. */
export function orderedIds(agents: Iterable<Agent>, q: FleetQuery): string[] {
  const sorted = sortAgents(filterAgents(agents, q), q.sort, q.dir);
  const ids = new Array<string>(sorted.length);
  for (let i = 0; i < sorted.length; i++) ids[i] = sorted[i].id;
  return ids;
}

export interface StateCounts {
  total: number;
  process: Partial<Record<ProcessStatus, number>>;
  health: Partial<Record<HealthStatus, number>>;
  recovery: Partial<Record<RecoveryStatus, number>>;
}

export function stateCounts(list: Iterable<Agent>): StateCounts {
  const c: StateCounts = { total: 0, process: {}, health: {}, recovery: {} };
  for (const a of list) countAgent(c, a, 1);
  return c;
}

/** Adds (by 1) or removes (by -1) one agent's states, in place: live events patch the counts rather than recount 100,000 agents. */
export function countAgent(c: StateCounts, a: Pick<Agent, 'status' | 'health' | 'recovery'>, by: 1 | -1): void {
  c.total += by;
  c.process[a.status] = (c.process[a.status] ?? 0) + by;
  c.health[a.health] = (c.health[a.health] ?? 0) + by;
  c.recovery[a.recovery] = (c.recovery[a.recovery] ?? 0) + by;
}

export const copyCounts = (c: StateCounts): StateCounts => ({ total: c.total, process: { ...c.process }, health: { ...c.health }, recovery: { ...c.recovery } });

/** What the desktop tray shows. */
export function healthCounts(agents: Iterable<Agent>): FleetCounts {
  const c: FleetCounts = { healthy: 0, warning: 0, critical: 0, unknown: 0 };
  for (const a of agents) c[a.health]++;
  return c;
}

/** Sort keys that live events never change: a list sorted by them stays sorted as states change. */
export const STABLE_SORTS: ReadonlySet<SortKey> = new Set(['name', 'type', 'version']);

export type GroupRow = { kind: 'group'; key: string; label: string; counts: StateCounts };
export type FleetRow = GroupRow | { kind: 'agent'; agent: Agent };
/** A row of the dashboard's list: an agent's id, or a group heading. */
export type ListRow = string | GroupRow;

/** The rows the list shows: agents, under a heading per group when grouped. */
export function groupRows(sorted: Agent[], groupBy: GroupBy, collapsed: ReadonlySet<string> = new Set()): FleetRow[] {
  if (groupBy === 'none') return sorted.map((agent) => ({ kind: 'agent', agent }));
  const labelKey = groupBy.startsWith('label:') ? groupBy.slice('label:'.length) : null;
  const groups = new Map<string, Agent[]>();
  for (const a of sorted) {
    const key = labelKey === null ? a.agent_type : (a.labels[labelKey] ?? '');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(a);
  }
  const rows: FleetRow[] = [];
  for (const key of [...groups.keys()].sort((x, y) => (x === '' ? 1 : y === '' ? -1 : x < y ? -1 : x > y ? 1 : 0))) {
    const members = groups.get(key)!;
    const label = labelKey === null ? `type ${key}` : key === '' ? `no ${labelKey} label` : `${labelKey}: ${key}`;
    rows.push({ kind: 'group', key, label, counts: stateCounts(members) });
    if (!collapsed.has(key)) for (const agent of members) rows.push({ kind: 'agent', agent });
  }
  return rows;
}

/**
 * The list's rows from its ordered ids: the ids themselves when not grouped (no row objects:
 * live events re-render only the visible rows), else a heading per group with its counts.
 */
export function groupIds(ids: string[], agents: ReadonlyMap<string, Agent>, groupBy: GroupBy, collapsed: ReadonlySet<string> = new Set()): ListRow[] {
  if (groupBy === 'none') return ids;
  const labelKey = groupBy.startsWith('label:') ? groupBy.slice('label:'.length) : null;
  const groups = new Map<string, { ids: string[]; counts: StateCounts }>();
  for (const id of ids) {
    const a = agents.get(id);
    if (!a) continue;
    const key = labelKey === null ? a.agent_type : (a.labels[labelKey] ?? '');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ids: [], counts: { total: 0, process: {}, health: {}, recovery: {} } }));
    g.ids.push(id);
    countAgent(g.counts, a, 1);
  }
  const rows: ListRow[] = [];
  for (const key of [...groups.keys()].sort((x, y) => (x === '' ? 1 : y === '' ? -1 : x < y ? -1 : x > y ? 1 : 0))) {
    const g = groups.get(key)!;
    const label = labelKey === null ? `type ${key}` : key === '' ? `no ${labelKey} label` : `${labelKey}: ${key}`;
    rows.push({ kind: 'group', key, label, counts: g.counts });
    if (!collapsed.has(key)) for (const id of g.ids) rows.push(id);
  }
  return rows;
}

/** Types and label keys present, for the filter and group menus (no string per agent: a Map of key to values). */
export function facets(agents: Iterable<Agent>): { types: string[]; labelKeys: string[]; labels: string[] } {
  const types = new Set<string>();
  const values = new Map<string, Set<string>>();
  for (const a of agents) {
    types.add(a.agent_type);
    for (const k in a.labels) {
      let v = values.get(k);
      if (!v) values.set(k, (v = new Set()));
      if (v.size < 500) v.add(a.labels[k]);
    }
  }
  const labels: string[] = [];
  for (const [k, vs] of values) for (const v of vs) if (labels.length < 500) labels.push(`${k}:${v}`);
  return { types: [...types].sort(), labelKeys: [...values.keys()].sort(), labels: labels.sort() };
}
