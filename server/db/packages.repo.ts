// agent_packages: what each host's supervisor found on disk, keyed by (host, path); and
// package_scans: each scan's progress and counts.
import type { Queryable } from './agents.repo.js';

export interface PackageRow {
  host_id: string | null;
  path: string;
  agent_name: string | null;
  agent_version: string | null;
  agent_type: string | null;
  fields: Record<string, string>;
  status: string;
  reasons: string[];
  agent_id: string | null;
  checksum: string | null;
  launch_error: string | null;
  discovered_at: Date;
  updated_at: Date;
}

export type PackageUpsert = Omit<PackageRow, 'discovered_at' | 'updated_at'>;

export interface ScanRow {
  id: string;
  host_id: string;
  trigger: string;
  status: string;
  total: number | null;
  done: number;
  counts: Record<string, number>;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export function packagesRepo(q: Queryable) {
  return {
    ofHost: (hostId: string): Promise<PackageRow[]> => q('agent_packages').where({ host_id: hostId }).select('*'),
    byAgent: (agentId: string): Promise<PackageRow | undefined> => q('agent_packages').where({ agent_id: agentId, status: 'registered' }).first(),
    async upsert(row: PackageUpsert): Promise<void> {
      const values = { ...row, fields: JSON.stringify(row.fields), reasons: JSON.stringify(row.reasons) };
      await q('agent_packages')
        .insert(values)
        .onConflict(['host_id', 'path'])
        .merge({ ...values, updated_at: q.fn.now(3) });
    },
    /** Packages without a host (kept from before hosts existed) become the given host's. */
    async claimUnassigned(hostId: string): Promise<number> {
      await q('agents').whereNull('host_id').whereIn('id', q('agent_packages').whereNull('host_id').whereNotNull('agent_id').select('agent_id')).update({ host_id: hostId });
      return q('agent_packages').whereNull('host_id').update({ host_id: hostId });
    },
    list(f: { status?: string; hostId?: string; limit: number; after?: { h: string; p: string } }): Promise<PackageRow[]> {
      const query = q('agent_packages').select('*').orderBy([{ column: 'host_id' }, { column: 'path' }]).limit(f.limit + 1);
      if (f.status) query.where('status', f.status);
      if (f.hostId) query.where('host_id', f.hostId);
      if (f.after) query.whereRaw('(host_id, path) > (?, ?)', [f.after.h, f.after.p]);
      return query;
    },
  };
}

export function scansRepo(q: Queryable) {
  return {
    async upsert(s: ScanRow): Promise<void> {
      const values = { ...s, counts: JSON.stringify(s.counts) };
      await q('package_scans').insert(values).onConflict('id').merge(values);
    },
    get: (id: string): Promise<ScanRow | undefined> => q('package_scans').where({ id }).first(),
    latest: (hostId?: string): Promise<ScanRow | undefined> => {
      const query = q('package_scans').orderBy('started_at', 'desc');
      if (hostId) query.where({ host_id: hostId });
      return query.first();
    },
    /** Keeps the newest `keep` scans of a host. */
    async prune(hostId: string, keep: number): Promise<void> {
      await q('package_scans').where({ host_id: hostId }).whereNotIn('id', q('package_scans').where({ host_id: hostId }).orderBy('started_at', 'desc').limit(keep).select('id')).delete();
    },
  };
}
