// Who may read which live event, and the optional per-client filters (agents, type prefixes).
// Pure: the stream asks these for every event and client.
import type { Permission } from '../security/permissions.js';

/** The permission each event family needs; a type not listed here is sent to no one. */
export const EVENT_PERMISSIONS: ReadonlyArray<{ match: string; permission: Permission }> = [
  { match: 'status.changed', permission: 'agents:read' },
  { match: 'health.changed', permission: 'agents:read' },
  { match: 'recovery.', permission: 'agents:read' },
  { match: 'config.', permission: 'config:read' },
  { match: 'metrics.sample', permission: 'metrics:read' },
  { match: 'log.line', permission: 'logs:read' },
  { match: 'alert.', permission: 'alerts:read' },
  // Package scans name folders on the AMS host: the same permission as GET /packages.
  { match: 'package.', permission: 'packages:read' },
  // Hosts: the same permission as GET /hosts.
  { match: 'host.', permission: 'agents:read' },
  // Each audit row as it is written (the console's live audit log): the same permission as GET /audit.
  { match: 'audit.', permission: 'audit:read' },
];

export function requiredPermission(type: string): Permission | undefined {
  return EVENT_PERMISSIONS.find((e) => (e.match.endsWith('.') ? type.startsWith(e.match) : type === e.match))?.permission;
}

export interface Reader {
  permissions: ReadonlySet<Permission>;
  /** Set for principals bound to one agent: they read events about that agent only. */
  agentId?: string;
}

export function mayRead(reader: Reader, event: { type: string; agent_id?: string | null }): boolean {
  const needed = requiredPermission(event.type);
  if (!needed || !reader.permissions.has(needed)) return false;
  if (reader.agentId !== undefined) return event.agent_id === reader.agentId;
  return true;
}

/** Whether the principal may read any event family at all. */
export function readsAnything(reader: Reader): boolean {
  return EVENT_PERMISSIONS.some((e) => reader.permissions.has(e.permission));
}

export interface StreamFilter {
  /** Only events about these agents (null: every agent, and events about none). */
  agentIds: ReadonlySet<string> | null;
  /** Only these types or type prefixes (null: every type). */
  types: readonly string[] | null;
}

export const NO_FILTER: StreamFilter = { agentIds: null, types: null };

/**
 * A type filter entry matches the type itself or, as a prefix, its family: `recovery.`,
 * `recovery.*` and `recovery` all match `recovery.attempt`; `alert.raised` matches only itself.
 */
export function typeMatches(pattern: string, type: string): boolean {
  const p = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  if (p === '') return true;
  if (type === p) return true;
  return type.startsWith(p.endsWith('.') ? p : `${p}.`);
}

export function matchesFilter(filter: StreamFilter, event: { type: string; agent_id?: string | null }): boolean {
  if (filter.agentIds && (!event.agent_id || !filter.agentIds.has(event.agent_id))) return false;
  if (filter.types && !filter.types.some((t) => typeMatches(t, event.type))) return false;
  return true;
}

const TYPE_PATTERN = /^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.?\*?$/;
const AGENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const MAX_FILTER_ENTRIES = 100;

/** Validates filter input from the query string or a subscribe message; `undefined` keeps, `null`/[] clears. */
export function parseFilterInput(input: { agent_ids?: unknown; types?: unknown }): { agentIds?: Set<string> | null; types?: string[] | null } | { error: string } {
  const out: { agentIds?: Set<string> | null; types?: string[] | null } = {};
  const list = (value: unknown, field: string, pattern: RegExp): string[] | null | { error: string } => {
    if (value === null) return null;
    const items = typeof value === 'string' ? value.split(',') : value;
    if (!Array.isArray(items) || items.some((v) => typeof v !== 'string')) return { error: `${field} must be a list of strings` };
    const cleaned = (items as string[]).map((s) => s.trim()).filter(Boolean);
    if (cleaned.length > MAX_FILTER_ENTRIES) return { error: `${field} holds at most ${MAX_FILTER_ENTRIES} entries` };
    const bad = cleaned.find((s) => !pattern.test(s));
    if (bad !== undefined) return { error: `${field}: ${JSON.stringify(bad.slice(0, 40))} is not valid` };
    return cleaned.length === 0 ? null : cleaned;
  };
  if (input.agent_ids !== undefined) {
    const v = list(input.agent_ids, 'agent_ids', AGENT_PATTERN);
    if (v && 'error' in v) return v;
    out.agentIds = v === null ? null : new Set(v);
  }
  if (input.types !== undefined) {
    const v = list(input.types, 'types', TYPE_PATTERN);
    if (v && 'error' in v) return v;
    out.types = v;
  }
  return out;
}
