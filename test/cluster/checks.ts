// What every cluster scenario asserts, read from outside the AMS: the live events a WebSocket
// client received against the status history in the database (nothing lost, nothing twice), the
// heartbeat rows against the messages on the wire (each written once), the process table (no
// agent ever twice), and which replica holds which advisory lock (pg_locks, mapped to the replica
// process by its TCP connection).
import fs from 'node:fs';
import type { Cluster } from './harness.js';
import type { LiveEvent } from './live.js';
import { COUNTER } from './heartbeats.js';
import { canonical } from '../helpers/canonical.js';

export { canonical };

/** History rows written by a process status transition, each published as a status.changed event. */
export const TRANSITION_EVENTS = new Set(['start_requested', 'process_started', 'stop_requested', 'process_stopped', 'process_exited', 'degraded', 'recovered', 'orphan_stopped']);

export interface HistoryRow {
  id: number;
  agent_id: string;
  event_type: string;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, any>;
  created_at: Date;
}

export async function historyOf(c: Cluster, agentIds: string[]): Promise<HistoryRow[]> {
  const rows = await c.query<HistoryRow>(
    'SELECT id, agent_id, event_type, from_status, to_status, details, created_at FROM agent_status_history WHERE agent_id = ANY($1) ORDER BY id',
    [agentIds],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/**
 * The key a change has in the history and on the live stream alike: a transition with its whole
 * details, a health change with its reasons, an adoption by its pid, a configuration version
 * applied or rejected by its number (those rows keep more details than their events carry).
 */
function historyKey(r: HistoryRow): string | undefined {
  if (TRANSITION_EVENTS.has(r.event_type)) return `status|${r.event_type}|${r.from_status}|${r.to_status}|${canonical(r.details ?? {})}`;
  if (r.event_type === 'health_changed') return `health|${r.from_status}|${r.to_status}|${canonical(r.details?.reasons ?? [])}`;
  if (r.event_type === 'adopted') return `adopted|${r.details?.pid}`;
  if (r.event_type === 'config_applied' || r.event_type === 'config_rejected') return `${r.event_type.replace('_', '.')}|${r.details?.version}`;
  return undefined;
}

function eventKey(e: LiveEvent): string | undefined {
  if (e.type === 'status.changed') return e.event_type === 'adopted' ? `adopted|${e.details?.pid}` : `status|${e.event_type}|${e.from}|${e.to}|${canonical(e.details ?? {})}`;
  if (e.type === 'health.changed') return `health|${e.from}|${e.to}|${canonical(e.reasons ?? [])}`;
  if (e.type === 'config.applied' || e.type === 'config.rejected') return `${e.type}|${e.version}`;
  return undefined;
}

export interface EventDiff {
  /** History rows no event was received for. */
  missing: string[];
  /** Events received more often than the history has the change (or not in it at all). */
  extra: string[];
  /** Ids received more than once. */
  duplicateIds: number[];
  /** Places where an id was not larger than the one before. */
  outOfOrder: Array<[number, number]>;
  /** resync messages the client was sent (events it could not be given). */
  resyncs: unknown[];
}

export const diffIsEmpty = (d: EventDiff) => d.missing.length + d.extra.length + d.duplicateIds.length + d.outOfOrder.length + d.resyncs.length === 0;

/** The status and health events received for `agentIds` against their history: equal as multisets, ids unique and increasing. */
export function compareWithHistory(events: LiveEvent[], history: HistoryRow[], agentIds: string[], controls: Array<{ message: any }> = []): EventDiff {
  const ids = new Set(agentIds);
  const want = new Map<string, number>();
  for (const r of history) {
    const k = historyKey(r);
    if (k) want.set(`${r.agent_id}|${k}`, (want.get(`${r.agent_id}|${k}`) ?? 0) + 1);
  }
  const got = new Map<string, number>();
  const seenIds = new Set<number>();
  const duplicateIds: number[] = [];
  const outOfOrder: Array<[number, number]> = [];
  let prev = -Infinity;
  for (const e of events) {
    if (seenIds.has(e.id)) duplicateIds.push(e.id);
    seenIds.add(e.id);
    if (e.id <= prev) outOfOrder.push([prev, e.id]);
    prev = e.id;
    if (!e.agent_id || !ids.has(e.agent_id)) continue;
    const k = eventKey(e);
    if (k) got.set(`${e.agent_id}|${k}`, (got.get(`${e.agent_id}|${k}`) ?? 0) + 1);
  }
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [k, n] of want) for (let i = got.get(k) ?? 0; i < n; i++) missing.push(k);
  for (const [k, n] of got) for (let i = want.get(k) ?? 0; i < n; i++) extra.push(k);
  return { missing, extra, duplicateIds, outOfOrder, resyncs: controls.filter((m) => m.message?.type === 'resync').map((m) => m.message) };
}

/** agent_metrics rows of the counter per agent whose receipt time is in [from, to). */
export async function counterRowsBetween(c: Cluster, from: number, to: number): Promise<Map<string, number>> {
  const rows = await c.query<{ agent_id: string; n: string }>(
    'SELECT agent_id, count(*) AS n FROM agent_metrics WHERE name = $1 AND timestamp >= $2 AND timestamp < $3 GROUP BY agent_id',
    [COUNTER, new Date(from), new Date(to)],
  );
  return new Map(rows.map((r) => [r.agent_id, Number(r.n)]));
}

export interface HeartbeatWindow {
  from: string;
  to: string;
  /** agent -> [messages seen on the wire, rows written]. */
  perAgent: Record<string, [number, number]>;
  seen: number;
  written: number;
}

/** Messages seen and rows written over [a, b) (points in quiet gaps of the traffic: HeartbeatObserver.quietPoint). */
export async function heartbeatWindow(c: Cluster, a: number, b: number): Promise<HeartbeatWindow> {
  const seen = c.heartbeats.countsBetween(a, b);
  const written = await counterRowsBetween(c, a, b);
  const perAgent: Record<string, [number, number]> = {};
  for (const id of new Set([...seen.keys(), ...written.keys()])) perAgent[id] = [seen.get(id) ?? 0, written.get(id) ?? 0];
  const sum = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
  return { from: new Date(a).toISOString(), to: new Date(b).toISOString(), perAgent, seen: sum(seen), written: sum(written) };
}

/** Local TCP ports of a process's sockets (from its fds and /proc/net/tcp{,6}). */
export function localPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || !inodes.has(cols[9])) continue;
      ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}

export interface LockHolder {
  key: number;
  backendPid: number;
  /** The replica (by name) whose process holds the connection; undefined when none of them does. */
  replica: string | undefined;
}

/** Granted advisory locks on `keys`, each with the replica that holds it. */
export async function advisoryHolders(c: Cluster, keys: number[]): Promise<LockHolder[]> {
  const rows = await c.query<{ objid: string; pid: number; client_port: number | null }>(
    `SELECT l.objid, l.pid, a.client_port FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = ANY($1::oid[])`,
    [keys],
  );
  const portsByReplica = c.api.map((r) => ({ name: r.name, ports: r.proc.pid() ? localPortsOf(r.proc.pid()!) : new Set<number>() }));
  return rows.map((r) => ({
    key: Number(r.objid),
    backendPid: r.pid,
    replica: r.client_port == null ? undefined : portsByReplica.find((p) => p.ports.has(r.client_port!))?.name,
  }));
}
