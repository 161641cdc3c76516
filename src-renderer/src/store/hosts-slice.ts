// The hosts a supervisor runs on (GET /hosts), kept current from host.up / host.down events: the
// row's state changes at once, and a quiet reload after a burst brings the rest (a new supervisor
// has a new epoch, pid and version). Why a host went down is kept from its event while the console
// runs (the API row has no reason).
import type { Host, LiveEvent } from '../api/types';
import type { Slice, StoreDeps } from './store';

export interface HostsState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: unknown;
  /** Every host by id (a Map: host ids come from outside). */
  items: ReadonlyMap<string, Host>;
  /** Why each host went down, from its host.down event (while the console runs). */
  downReasons: ReadonlyMap<string, { reason: string; graceful: boolean; at: string }>;
  loadedAt: number | null;
}

export interface HostsSlice {
  hosts: HostsState;
  loadHosts(opts?: { quiet?: boolean }): Promise<void>;
  applyHostEvents(events: LiveEvent[]): void;
}

export const emptyHosts = (): HostsState => ({ status: 'idle', error: null, items: new Map(), downReasons: new Map(), loadedAt: null });

/** Host events of one moment (several hosts lost together) arrive together: one reload after the burst. */
export const HOST_RELOAD_MS = 300;

/**
 * Hosts by id (what an operator names a host with --host-id; its name is the machine's, the same
 * for two hosts on one machine). Up ones are not put first, so a row does not jump when it goes down.
 */
export function sortHosts(hosts: Iterable<Host>): Host[] {
  return [...hosts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** How a host is named in lists and headings: its id, and its machine's name when that says more. */
export function hostLabel(id: string, host: Pick<Host, 'name'> | undefined): string {
  return host && host.name && host.name !== id ? `${id} (${host.name})` : id;
}

/** The row after a host event (status and since; an up host was just seen). */
export function applyHostEvent(host: Host, e: Extract<LiveEvent, { type: 'host.up' | 'host.down' }>): Host {
  const status = e.type === 'host.up' ? 'up' : 'down';
  if (host.status === status) return host;
  return { ...host, status, status_since: e.time, ...(status === 'up' ? { last_seen: e.time } : {}) };
}

export const hostsSlice = ({ client, now = Date.now, schedule = (fn, ms) => setTimeout(fn, ms) }: StoreDeps): Slice<HostsSlice> => (set, get) => {
  let reloadPending = false;
  let generation = 0;
  const reloadSoon = () => {
    if (reloadPending) return;
    reloadPending = true;
    schedule(() => {
      reloadPending = false;
      void get().loadHosts({ quiet: true });
    }, HOST_RELOAD_MS);
  };
  return {
    hosts: emptyHosts(),
    async loadHosts(opts = {}) {
      const mine = ++generation;
      if (!opts.quiet || get().hosts.status !== 'ready') set((s) => ({ hosts: { ...s.hosts, status: 'loading', error: null } }));
      try {
        const { items } = await client.hosts.list();
        if (mine !== generation) return;
        set((s) => ({ hosts: { ...s.hosts, status: 'ready', error: null, items: new Map(items.map((h) => [h.id, h])), loadedAt: now() } }));
      } catch (error) {
        if (mine !== generation) return;
        // A quiet reload that fails keeps the rows (last known) and says so.
        set((s) => ({ hosts: { ...s.hosts, status: s.hosts.items.size > 0 && opts.quiet ? 'ready' : 'error', error } }));
      }
    },
    applyHostEvents(events) {
      let items: Map<string, Host> | null = null;
      let reasons: Map<string, { reason: string; graceful: boolean; at: string }> | null = null;
      let seen = false;
      for (const e of events) {
        if (e.type !== 'host.up' && e.type !== 'host.down') continue;
        seen = true;
        if (e.type === 'host.down') {
          reasons ??= new Map(get().hosts.downReasons);
          const reason = typeof e.details?.reason === 'string' ? e.details.reason : 'its lease ended';
          reasons.set(e.host_id, { reason, graceful: e.details?.graceful === true, at: e.time });
        }
        const current = (items ?? get().hosts.items).get(e.host_id);
        if (!current) continue;
        const next = applyHostEvent(current, e);
        if (next === current) continue;
        items ??= new Map(get().hosts.items);
        items.set(e.host_id, next);
      }
      if (!seen) return;
      if (items || reasons) set((s) => ({ hosts: { ...s.hosts, items: items ?? s.hosts.items, downReasons: reasons ?? s.hosts.downReasons } }));
      // A host the console has not loaded, or the rest of a changed row: fetched after the burst.
      if (get().hosts.status !== 'idle') reloadSoon();
    },
  };
};
