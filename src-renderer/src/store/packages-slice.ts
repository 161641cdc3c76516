// Agent packages the scanner found, kept current from package.* events (a quiet reload shortly
// after a burst of them), and a rescan followed to its end.
import type { LiveEvent, Package, PackageScan } from '../api/types';
import type { Loadable } from './loadable';
import type { Slice, StoreDeps } from './store';

export interface PackagesSlice {
  packages: Loadable<Package[]>;
  scan: { current: PackageScan | null; error: unknown };
  loadPackages(opts?: { quiet?: boolean }): Promise<void>;
  rescan(): Promise<void>;
  /** package.* events: the list is reloaded (once per burst) when it has been loaded. */
  applyPackageEvents(events: LiveEvent[]): void;
}

const POLL_MS = 400;
/** Events of one scan arrive together: one reload after the burst. */
export const PACKAGE_RELOAD_MS = 300;

export const packagesSlice = ({ client, schedule = (fn, ms) => setTimeout(fn, ms) }: StoreDeps): Slice<PackagesSlice> => (set, get) => {
  let reloadPending = false;
  return {
    packages: { status: 'idle' },
    scan: { current: null, error: null },
    async loadPackages(opts = {}) {
      if (!opts.quiet) set({ packages: { status: 'loading', data: get().packages.data } });
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
        await get().loadPackages({ quiet: true });
      } catch (error) {
        set((s) => ({ scan: { current: s.scan.current, error } }));
      }
    },
    applyPackageEvents(events) {
      if (get().packages.status === 'idle' || reloadPending) return;
      if (!events.some((e) => e.type.startsWith('package.'))) return;
      reloadPending = true;
      schedule(() => {
        reloadPending = false;
        void get().loadPackages({ quiet: true });
      }, PACKAGE_RELOAD_MS);
    },
  };
};
