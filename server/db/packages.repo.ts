// agent_packages: what the scanner found on disk.
import type { Queryable } from './agents.repo.js';

export interface PackageRow {
  path: string;
  agent_name: string | null;
  agent_version: string | null;
  agent_type: string | null;
  fields: Record<string, string>;
  status: string;
  reasons: string[];
  agent_id: string | null;
  checksum: string | null;
  discovered_at: Date;
  updated_at: Date;
}

export type PackageUpsert = Omit<PackageRow, 'discovered_at' | 'updated_at'>;

export function packagesRepo(q: Queryable) {
  return {
    all: (): Promise<PackageRow[]> => q('agent_packages').select('*'),
    byPath: (path: string): Promise<PackageRow | undefined> => q('agent_packages').where({ path }).first(),
    byAgent: (agentId: string): Promise<PackageRow | undefined> => q('agent_packages').where({ agent_id: agentId, status: 'registered' }).first(),
    async upsert(row: PackageUpsert): Promise<void> {
      const values = { ...row, fields: JSON.stringify(row.fields), reasons: JSON.stringify(row.reasons) };
      await q('agent_packages')
        .insert(values)
        .onConflict('path')
        .merge({ ...values, updated_at: q.fn.now(3) });
    },
    list(f: { status?: string; limit: number; after?: string }): Promise<PackageRow[]> {
      const query = q('agent_packages').select('*').orderBy('path').limit(f.limit + 1);
      if (f.status) query.where('status', f.status);
      if (f.after) query.where('path', '>', f.after);
      return query;
    },
  };
}
