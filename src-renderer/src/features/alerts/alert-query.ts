// The alerts list as pure functions: its filters and order from and to the URL (a triage view
// can be shared), which alerts pass, and in what order they show.
import type { Agent, Alert, AlertSeverity, AlertSort, AlertStatus } from '../../api/types';

export const ALERT_STATUSES: AlertStatus[] = ['open', 'acknowledged', 'resolved'];
export const SEVERITIES: AlertSeverity[] = ['critical', 'warning', 'info'];
export const SORTS: Array<{ value: AlertSort; label: string }> = [
  { value: 'severity', label: 'Severity (worst first)' },
  { value: 'newest', label: 'Newest first' },
  { value: 'last_seen', label: 'Latest activity first' },
];

export interface AlertQuery {
  status: AlertStatus;
  /** Severities shown; empty means all. */
  severity: AlertSeverity[];
  rule: string;
  agent: string;
  /** `key:value` of the alert's agent. */
  label: string;
  sort: AlertSort;
}

export const DEFAULT_ALERT_QUERY: AlertQuery = { status: 'open', severity: [], rule: '', agent: '', label: '', sort: 'severity' };

export function alertQueryFromSearch(search: string): AlertQuery {
  const p = new URLSearchParams(search);
  const q: AlertQuery = { ...DEFAULT_ALERT_QUERY, severity: [] };
  const status = p.get('status');
  if (status && (ALERT_STATUSES as string[]).includes(status)) q.status = status as AlertStatus;
  q.severity = (p.get('severity') ?? '').split(',').filter((s): s is AlertSeverity => (SEVERITIES as string[]).includes(s));
  q.rule = p.get('rule') ?? '';
  q.agent = p.get('agent') ?? '';
  q.label = p.get('label') ?? '';
  const sort = p.get('sort');
  if (sort && SORTS.some((s) => s.value === sort)) q.sort = sort as AlertSort;
  return q;
}

export function searchFromAlertQuery(q: AlertQuery): string {
  const p = new URLSearchParams();
  if (q.status !== DEFAULT_ALERT_QUERY.status) p.set('status', q.status);
  if (q.severity.length) p.set('severity', q.severity.join(','));
  if (q.rule) p.set('rule', q.rule);
  if (q.agent) p.set('agent', q.agent);
  if (q.label) p.set('label', q.label);
  if (q.sort !== DEFAULT_ALERT_QUERY.sort) p.set('sort', q.sort);
  const s = p.toString();
  return s ? `?${s}` : '';
}

const RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };

function labelMatches(agent: Agent | undefined, selector: string): boolean {
  if (!agent) return false;
  const at = selector.indexOf(':');
  return at < 0 ? selector in agent.labels : agent.labels[selector.slice(0, at)] === selector.slice(at + 1);
}

/** The alerts the query shows, in its order (ties: newest first). `agents` gives labels. */
export function selectAlerts(all: Iterable<Alert>, q: AlertQuery, agents: ReadonlyMap<string, Agent>): Alert[] {
  const out: Alert[] = [];
  for (const a of all) {
    if (a.status !== q.status) continue;
    if (q.severity.length && !q.severity.includes(a.severity)) continue;
    if (q.rule && a.rule !== q.rule) continue;
    if (q.agent && a.agent_id !== q.agent) continue;
    if (q.label && !labelMatches(a.agent_id ? agents.get(a.agent_id) : undefined, q.label)) continue;
    out.push(a);
  }
  const newest = (x: Alert, y: Alert) => y.id - x.id;
  if (q.sort === 'severity') out.sort((x, y) => (RANK[x.severity] ?? 3) - (RANK[y.severity] ?? 3) || newest(x, y));
  else if (q.sort === 'last_seen') out.sort((x, y) => Date.parse(y.last_seen_at) - Date.parse(x.last_seen_at) || newest(x, y));
  else out.sort(newest);
  return out;
}

/** How many alerts each status holds (for the status switch). */
export function countByStatus(all: Iterable<Alert>): Record<AlertStatus, number> {
  const c: Record<AlertStatus, number> = { open: 0, acknowledged: 0, resolved: 0 };
  for (const a of all) if (a.status in c) c[a.status]++;
  return c;
}

/** Durations a silence can be set for. */
export const SILENCE_DURATIONS: Array<{ s: number; label: string }> = [
  { s: 1800, label: '30 minutes' },
  { s: 3600, label: '1 hour' },
  { s: 2 * 3600, label: '2 hours' },
  { s: 4 * 3600, label: '4 hours' },
  { s: 8 * 3600, label: '8 hours' },
  { s: 86_400, label: '1 day' },
  { s: 3 * 86_400, label: '3 days' },
  { s: 7 * 86_400, label: '7 days' },
];
