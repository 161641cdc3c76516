// hosts: one row per host a supervisor has run under, with how far its observations have been
// applied (the observation applier's idempotence and order).
import type { Queryable } from './agents.repo.js';

export interface HostRow {
  id: string;
  name: string;
  address: string | null;
  version: string | null;
  pid: number | null;
  agents_dir: string | null;
  started_at: Date | null;
  last_seen: Date | null;
  status: string;
  status_since: Date | null;
  epoch: number;
  applied_epoch: number;
  applied_seq: number;
  applied_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface HostHello {
  id: string;
  name: string;
  address: string | null;
  version: string;
  pid: number;
  agents_dir: string;
  started_at: Date;
  epoch: number;
}

export function hostsRepo(q: Queryable) {
  return {
    get: (id: string): Promise<HostRow | undefined> => q('hosts').where({ id }).first(),
    list: (): Promise<HostRow[]> => q('hosts').select('*').orderBy('id'),
    /** The row locked until the transaction ends; made (unknown) when the host was never seen. */
    async lock(id: string): Promise<HostRow> {
      await q.raw(`INSERT INTO hosts (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, [id, id]);
      return q('hosts').where({ id }).forUpdate().first();
    },
    async hello(h: HostHello): Promise<void> {
      await q('hosts').where({ id: h.id }).update({
        name: h.name, address: h.address, version: h.version, pid: h.pid, agents_dir: h.agents_dir, started_at: h.started_at, epoch: h.epoch,
        last_seen: q.fn.now(3), updated_at: q.fn.now(3),
      });
    },
    async applied(id: string, epoch: number, seq: number): Promise<void> {
      await q('hosts').where({ id }).update({ applied_epoch: epoch, applied_seq: seq, applied_at: q.fn.now(3) });
    },
    /** Sets the host's status; answers the previous one when it changed. */
    async setStatus(id: string, status: string, lastSeen?: Date): Promise<string | undefined> {
      const row = await q('hosts').where({ id }).forUpdate().first('status');
      if (!row) return undefined;
      const values: Record<string, unknown> = { updated_at: q.fn.now(3), ...(lastSeen ? { last_seen: lastSeen } : {}) };
      if (row.status !== status) Object.assign(values, { status, status_since: q.fn.now(3) });
      await q('hosts').where({ id }).update(values);
      return row.status !== status ? row.status : undefined;
    },
    async touch(id: string, lastSeen: Date): Promise<void> {
      await q('hosts').where({ id }).update({ last_seen: lastSeen });
    },
    /** Agents of each host counted by process status. */
    async agentCounts(): Promise<Array<{ host_id: string; process_status: string; n: number }>> {
      const rows = await q('agents as a').join('agent_status as s', 's.agent_id', 'a.id').whereNotNull('a.host_id').select('a.host_id', 's.process_status').count({ n: '*' }).groupBy('a.host_id', 's.process_status');
      return (rows as Array<Record<string, unknown>>).map((r) => ({ host_id: String(r.host_id), process_status: String(r.process_status), n: Number(r.n) }));
    },
  };
}
