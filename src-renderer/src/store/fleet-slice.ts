// Every agent the console knows, kept current from the API and the live stream. Events that
// arrive while the list loads are held and applied after it, in order: status events carry
// the absolute new state, so replaying one the list already reflects is harmless.
import type { Agent, LifecycleAction, LiveEvent } from '../api/types';
import { applyFleetEvents } from './fleet-events';
import type { Slice, StoreDeps } from './store';

export interface BulkResult {
  action: LifecycleAction;
  ok: string[];
  failed: Array<{ id: string; error: unknown }>;
}

export interface FleetState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: unknown;
  /**
   * Every agent by id. Only this slice changes it, in place, replacing rows (so a row object
   * never changes under a view) and bumping `revision` with a new `fleet` object.
   */
  agents: ReadonlyMap<string, Agent>;
  /** Bumps whenever any row changes. */
  revision: number;
  /** Bumps when rows are added, removed or replaced wholesale (not for state changes from events). */
  membership: number;
  loadedAt: number | null;
}

export const emptyFleet = (): FleetState => ({ status: 'idle', error: null, agents: new Map(), revision: 0, membership: 0, loadedAt: null });

export interface FleetSlice {
  fleet: FleetState;
  loadFleet(opts?: { quiet?: boolean }): Promise<void>;
  applyFleetEvents(events: LiveEvent[]): void;
  upsertAgents(agents: Agent[]): void;
  removeAgent(id: string): void;
  controlAgents(ids: string[], action: LifecycleAction): Promise<BulkResult>;
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const fleetSlice = ({ client, now = Date.now }: StoreDeps): Slice<FleetSlice> => (set, get) => {
  let held: LiveEvent[] | null = null;
  let loading: Promise<void> | null = null;
  const fetching = new Set<string>();

  const fetchUnknown = (ids: string[]) => {
    for (const id of ids) {
      if (fetching.has(id)) continue;
      fetching.add(id);
      client.agents
        .get(id)
        .then((agent) => get().upsertAgents([agent]))
        .catch(() => undefined)
        .finally(() => fetching.delete(id));
    }
  };

  const agents = () => get().fleet.agents as Map<string, Agent>;

  return {
    fleet: emptyFleet(),

    loadFleet(opts = {}) {
      loading ??= (async () => {
        const quiet = opts.quiet && get().fleet.status === 'ready';
        held = [];
        if (!quiet) set((s) => ({ fleet: { ...s.fleet, status: 'loading', error: null } }));
        const fresh = new Map<string, Agent>();
        try {
          let first = !quiet;
          await client.agents.listAll({}, (page) => {
            for (const a of page) fresh.set(a.id, a);
            // Paint the first page at once; the rest lands when the whole list is in.
            if (first) {
              first = false;
              set((s) => ({ fleet: { ...s.fleet, agents: new Map(fresh), revision: s.fleet.revision + 1, membership: s.fleet.membership + 1 } }));
            }
          });
          const pending = held ?? [];
          held = null;
          applyFleetEvents(fresh, pending);
          set((s) => ({ fleet: { status: 'ready', error: null, agents: fresh, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1, loadedAt: now() } }));
        } catch (error) {
          const pending = held ?? [];
          held = null;
          set((s) => ({ fleet: { ...s.fleet, status: quiet ? s.fleet.status : 'error', error } }));
          if (pending.length) get().applyFleetEvents(pending);
        }
      })().finally(() => (loading = null));
      return loading;
    },

    applyFleetEvents(events) {
      if (held) {
        held.push(...events);
        return;
      }
      const patch = applyFleetEvents(agents(), events);
      if (patch.changed) set((s) => ({ fleet: { ...s.fleet, revision: s.fleet.revision + 1 } }));
      if (patch.unknown.length) fetchUnknown(patch.unknown);
    },

    upsertAgents(list) {
      if (list.length === 0) return;
      const map = agents();
      for (const a of list) map.set(a.id, a);
      set((s) => ({ fleet: { ...s.fleet, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1 } }));
    },

    removeAgent(id) {
      if (!agents().delete(id)) return;
      set((s) => ({ fleet: { ...s.fleet, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1 } }));
    },

    async controlAgents(ids, action) {
      const result: BulkResult = { action, ok: [], failed: [] };
      const answers = await mapLimit(ids, 6, async (id) => {
        try {
          const agent = await client.agents.control(id, action);
          result.ok.push(id);
          return agent;
        } catch (error) {
          result.failed.push({ id, error });
          return null;
        }
      });
      get().upsertAgents(answers.filter((a): a is Agent => a !== null && typeof a === 'object' && 'id' in a));
      return result;
    },
  };
};
