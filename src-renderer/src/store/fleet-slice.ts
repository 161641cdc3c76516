// Every agent the console knows, kept current from the API and the live stream, with its counts
// per state. Events that arrive while the list loads apply at once and are replayed on the new
// snapshot, in order: status events carry the absolute new state, so replaying one the list
// already reflects is harmless. A quiet refresh of the same agents replaces rows in place.
import type { Agent, LifecycleAction, LiveEvent } from '../api/types';
import { applyFleetEvents } from './fleet-events';
import { copyCounts, countAgent, nameKey, stateCounts, type StateCounts } from '../features/dashboard/fleet-view';

/** `a` plus the differences in `d`. */
function addCounts(a: StateCounts, d: StateCounts): StateCounts {
  const out = copyCounts(a);
  out.total += d.total;
  for (const k of ['process', 'health', 'recovery'] as const) {
    const into = out[k] as Record<string, number>;
    for (const [state, n] of Object.entries(d[k] as Record<string, number>)) into[state] = (into[state] ?? 0) + n;
  }
  return out;
}
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

/** Whether two rows of one agent agree on what the list's order and filters read besides states: name, type, version, labels. */
export function sameIdentity(y: Agent, x: Agent): boolean {
  if (y.agent_name !== x.agent_name || y.agent_type !== x.agent_type || y.agent_version !== x.agent_version) return false;
  const kx = Object.keys(x.labels);
  if (kx.length !== Object.keys(y.labels).length) return false;
  for (const k of kx) if (y.labels[k] !== x.labels[k]) return false;
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
  /** Agents an event changed since the current load began. */
  let touched: Set<string> | null = null;
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
        touched = new Set();
        if (!quiet) set((s) => ({ fleet: { ...s.fleet, status: 'loading', error: null } }));
        const fresh = new Map<string, Agent>();
        // A quiet refresh of the same agents (the usual case: heartbeat times) replaces each
        // row in place as its page arrives, so no step at the end walks 100,000 rows: the list
        // keeps its order and nothing is re-sorted. An agent an event changed since the refresh
        // began keeps the states the event set (newer than the snapshot).
        const current = agents();
        // What the replaced rows change in the counts (events meanwhile patch the store's own).
        const delta: StateCounts = { total: 0, process: {}, health: {}, recovery: {} };
        let sameAgents = quiet;
        try {
          let first = !quiet;
          await client.agents.listAll({}, (page) => {
            for (const a of page) {
              fresh.set(a.id, a);
              // The sort key, while waiting for the next page: the list's sort then finds it cached.
              nameKey(a);
              if (!sameAgents) continue;
              const old = current.get(a.id);
              if (!old || !sameIdentity(old, a)) {
                sameAgents = false;
                continue;
              }
              const row = touched!.has(a.id) ? { ...a, status: old.status, health: old.health, recovery: old.recovery, pid: old.pid, start_time: old.start_time, last_error: old.last_error } : a;
              countAgent(delta, old, -1);
              countAgent(delta, row, 1);
              current.set(a.id, row);
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
          touched = null;
          if (sameAgents && fresh.size === current.size) {
            set((s) => ({ fleet: { ...s.fleet, status: 'ready', error: null, counts: addCounts(s.fleet.counts, delta), revision: s.fleet.revision + 1, loadedAt: now() } }));
            return;
          }
          applyFleetEvents(fresh, pending);
          const all = stateCounts(fresh.values());
          set((s) => ({ fleet: { status: 'ready', error: null, agents: fresh, counts: all, revision: s.fleet.revision + 1, membership: s.fleet.membership + 1, loadedAt: now() } }));
        } catch (error) {
          held = null;
          touched = null;
          if (quiet) set((s) => ({ fleet: { ...s.fleet, counts: stateCounts(agents().values()), error } }));
          else set((s) => ({ fleet: { ...s.fleet, status: 'error', error } }));
        }
      })().finally(() => (loading = null));
      return loading;
    },

    applyFleetEvents(events) {
      // Events apply to what is shown now, and are kept to replay on the snapshot being loaded
      // (they carry absolute states: replaying one the snapshot already has changes nothing).
      if (held) {
        held.push(...events);
        for (const e of events) if (e.agent_id) touched?.add(e.agent_id);
      }
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
