// Hosts as the API shows them (DESIGN.md "Cluster"): every host a supervisor has run under, with
// its supervisor's state (up while it holds its lease), version, address, last seen, current
// epoch, and its agents counted by process status.
import type { Database } from '../db/database.js';
import { type HostRow, hostsRepo } from '../db/hosts.repo.js';
import { NotFound } from '../errors.js';
import { isProcessState } from '../domain/statuses.js';

export interface HostView {
  id: string;
  name: string;
  status: 'up' | 'down' | 'unknown';
  status_since: string | null;
  last_seen: string | null;
  version: string | null;
  address: string | null;
  pid: number | null;
  agents_dir: string | null;
  started_at: string | null;
  epoch: number;
  agents: { total: number; by_status: Record<string, number> };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function present(h: HostRow, counts: Map<string, Record<string, number>>): HostView {
  const byStatus = counts.get(h.id) ?? {};
  return {
    id: h.id,
    name: h.name,
    status: h.status === 'up' || h.status === 'down' ? h.status : 'unknown',
    status_since: iso(h.status_since),
    last_seen: iso(h.last_seen),
    version: h.version,
    address: h.address,
    pid: h.pid,
    agents_dir: h.agents_dir,
    started_at: iso(h.started_at),
    epoch: h.epoch,
    agents: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), by_status: byStatus },
  };
}

export type HostService = ReturnType<typeof createHostService>;

export function createHostService({ db }: { db: Database }) {
  async function counts(): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    for (const r of await hostsRepo(db.knex).agentCounts()) {
      if (!isProcessState(r.process_status)) continue;
      const c = out.get(r.host_id) ?? {};
      c[r.process_status] = (c[r.process_status] ?? 0) + r.n;
      out.set(r.host_id, c);
    }
    return out;
  }
  return {
    async list(): Promise<{ items: HostView[] }> {
      const c = await counts();
      return { items: (await hostsRepo(db.knex).list()).map((h) => present(h, c)) };
    },
    async get(id: string): Promise<HostView> {
      const h = await hostsRepo(db.knex).get(id);
      if (!h) throw new NotFound('host_not_found', `Host ${JSON.stringify(id)} is not known`);
      return present(h, await counts());
    },
    /** Hosts whose supervisor holds its lease now. */
    async up(): Promise<string[]> {
      return (await hostsRepo(db.knex).list()).filter((h) => h.status === 'up').map((h) => h.id);
    },
    /** Hosts not known to be down (a host just started may not be marked up yet). */
    async reachable(): Promise<string[]> {
      return (await hostsRepo(db.knex).list()).filter((h) => h.status !== 'down').map((h) => h.id);
    },
  };
}
