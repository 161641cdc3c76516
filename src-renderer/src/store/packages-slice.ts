// Agent packages the scanner found, and a rescan followed to its end.
import type { Package, PackageScan } from '../api/types';
import type { Loadable } from './loadable';
import type { Slice, StoreDeps } from './store';

export interface PackagesSlice {
  packages: Loadable<Package[]>;
  scan: { current: PackageScan | null; error: unknown };
  loadPackages(): Promise<void>;
  rescan(): Promise<void>;
}

const POLL_MS = 400;

export const packagesSlice = ({ client }: StoreDeps): Slice<PackagesSlice> => (set, get) => ({
  packages: { status: 'idle' },
  scan: { current: null, error: null },
  async loadPackages() {
    set({ packages: { status: 'loading', data: get().packages.data } });
    try {
      set({ packages: { status: 'ready', data: await client.packages.listAll() } });
    } catch (error) {
      set({ packages: { status: 'error', error, data: get().packages.data } });
    }
  },
  async rescan() {
    try {
      let scan = await client.packages.rescan();
      set({ scan: { current: scan, error: null } });
      while (scan.status === 'running') {
        await new Promise((r) => setTimeout(r, POLL_MS));
        scan = await client.packages.scan(scan.id);
        set({ scan: { current: scan, error: null } });
      }
      await get().loadPackages();
    } catch (error) {
      set((s) => ({ scan: { current: s.scan.current, error } }));
    }
  },
});
