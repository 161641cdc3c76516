// Every agent the console knows, kept current from the API and the live stream, with its counts
// per state. Events that arrive while the list loads apply at once and are replayed on the new
// snapshot, in order: status events carry the absolute new state, so replaying one the list
// already reflects is harmless. A quiet refresh of the same agents replaces rows in place.
import type { Agent, LifecycleAction, LiveEvent } from '../api/types';
import { applyFleetEvents } from './fleet-events';
import { copyCounts, countAgent, nameKey, stateCounts, type StateCounts } from '../features/dashboard/fleet-view';
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
  /** Agents per state, kept with the rows (patched by events, not recounted). */
  counts: StateCounts;
}

const noCounts = (): StateCounts => ({ total: 0, process: {}, health: {}, recovery: {} });

export const emptyFleet = (): FleetState => ({ status: 'idle', error: null, agents: new Map(), revision: 0, membership: 0, loadedAt: null, counts: noCounts() });

export interface FleetSlice {
  fleet: FleetState;
  loadFleet(opts?: { quiet?: boolean }): Promise<void>;
  applyFleetEvents(events: LiveEvent[]): void;
  upsertAgents(agents: Agent[]): void;
  removeAgent(id: string): void;
  controlAgents(ids: string[], action: LifecycleAction): Promise<BulkResult>;
}

/** Whether two snapshots hold the same agents with the same names, types, versions and labels (what the list's order and filters read besides states). */
export function sameMembers(a: ReadonlyMap<string, Agent>, b: ReadonlyMap<string, Agent>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, x] of b) {
    const y = a.get(id);
    if (!y || y.agent_name !== x.agent_name || y.agent_type !== x.agent_type || y.agent_version !== x.agent_version) return false;
    const kx = Object.keys(x.labels);
    if (kx.length !== Object.keys(y.labels).length) return false;
    for (const k of kx) if (y.labels[k] !== x.labels[k]) return false;
  }
  return true;
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
            for (const a of page) {
              fresh.set(a.id, a);
              // The sort key, while waiting for the next page: the list's sort then finds it cached.
              nameKey(a);
            }
            // Paint the first page at once; the rest lands when the whole list is in.
            if (first) {
              first = false;
              const firstPage = new Map(fresh);
              set((s) => ({ fleet: { ...s.fleet, agents: firstPage, counts: stateCounts(firstPage.values()), revision: s.fleet.revision + 1, membership: s.fleet.membership + 1 } }));
            }
          });
          const pending = held ?? [];
          held = null;
          const current = agents();
          if (quiet && sameMembers(current, fresh)) {
            // The usual quiet refresh (heartbeat times): the same agents, rows replaced in place,
            // so the list keeps its order and nothing is re-sorted.
            for (const [id, a] of fresh) current.set(id, a);
            applyFleetEvents(current, pending);
            const counts = stateCounts(current.values());
            set((s) => ({ fleet: { ...s.fleet, status: 'ready', error: null, counts, revision: s.fleet.revision + 1, loadedAt: now() } }));
            return;
          }
          applyFleetEvents(fresh, pending);
          const counts = stateCounts(fresh.values());
          set((s) => ({ fleet: { status: 'ready', error: null, agents: fresh, counts, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1, loadedAt: now() } }));
        } catch (error) {
          held = null;
          set((s) => ({ fleet: { ...s.fleet, status: quiet ? s.fleet.status : 'error', error } }));
        }
      })().finally(() => (loading = null));
      return loading;
    },

    applyFleetEvents(events) {
      // Events apply to what is shown now, and are kept to replay on the snapshot being loaded
      // (they carry absolute states: replaying one the snapshot already has changes nothing).
      held?.push(...events);
      let counts: StateCounts | null = null;
      const patch = applyFleetEvents(agents(), events, (before, after) => {
        counts ??= copyCounts(get().fleet.counts);
        countAgent(counts, before, -1);
        countAgent(counts, after, 1);
      });
      if (patch.changed) set((s) => ({ fleet: { ...s.fleet, counts: counts ?? s.fleet.counts, revision: s.fleet.revision + 1 } }));
      if (patch.unknown.length && !held) fetchUnknown(patch.unknown);
    },

    upsertAgents(list) {
      if (list.length === 0) return;
      const map = agents();
      const counts = copyCounts(get().fleet.counts);
      for (const a of list) {
        const old = map.get(a.id);
        if (old) countAgent(counts, old, -1);
        countAgent(counts, a, 1);
        map.set(a.id, a);
      }
      set((s) => ({ fleet: { ...s.fleet, counts, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1 } }));
    },

    removeAgent(id) {
      const old = agents().get(id);
      if (!old || !agents().delete(id)) return;
      const counts = copyCounts(get().fleet.counts);
      countAgent(counts, old, -1);
      set((s) => ({ fleet: { ...s.fleet, counts, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1 } }));
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
