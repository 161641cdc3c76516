// Which hosts are up (a singleton of the control plane): a host is up while its supervisor
// renews its lease in OPMAS_HOST_LEASES, down once the lease is released or has not been renewed
// for its lifetime. A host going down says so in the hosts table and on the live stream, and its
// agents' health becomes unknown with that reason (nothing is judging them any more).
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { hostsRepo } from '../db/hosts.repo.js';
import { desiredStateRepo } from '../db/desired-state.repo.js';
import { agentStatusRepo } from '../db/agent-status.repo.js';
import { createSingletonLock, SINGLETON_KEYS } from '../db/singleton-lock.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { AmsEventInput, EventBus } from '../events/bus.js';
import { statusWriter } from '../services/status.js';
import { openLeaseBuckets } from '../supervisor/host-lease.js';
import { subjects } from '../broker/subjects.js';

export type HostMonitor = ReturnType<typeof createHostMonitor>;

export function createHostMonitor(deps: { db: Database; logger: Logger; connection: BrokerConnection; events: EventBus; leaseTtlMs: number; checkMs?: number }) {
  const { db, logger } = deps;
  const lock = createSingletonLock(db, SINGLETON_KEYS.hostMonitor, logger, { name: 'host monitor' });
  const renewed = new Map<string, number>();
  /** The lease revision the watch last saw, per host. */
  const revisions = new Map<string, number>();
  let watcher: { stop(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let active = false;
  let stopped = false;
  /** Since when the current watch runs (undefined while there is none). */
  let watchingSince: number | undefined;
  /** Each (re)start of the watch; an older one that finishes late gives way. */
  let generation = 0;

  async function markUp(hostId: string): Promise<void> {
    let published: () => void = () => undefined;
    const was = await db.knex.transaction(async (trx) => {
      // The lease can be seen before the host's hello is applied: the row is made here then.
      await hostsRepo(trx).lock(hostId);
      const before = await hostsRepo(trx).setStatus(hostId, 'up', new Date());
      if (before !== undefined) published = await deps.events.record(trx, [{ type: 'host.up', host_id: hostId, details: { previous: before } }]);
      return before;
    });
    published();
    if (was !== undefined) logger.info({ hostId, was }, 'host up');
    // Its agents' health was set unknown when it went down: its supervisor reports it again.
    // (The supervisor also does so when it renews a lapsed lease, so a lost message costs nothing.)
    if (was === 'down') {
      try {
        deps.connection.publish(subjects.host(hostId).resync, { reason: 'the host was down' });
      } catch (err) {
        logger.debug({ hostId, err: (err as Error).message }, 'the host could not be asked to report its agents again');
      }
    }
  }

  /** `graceful`: its supervisor released the lease as it stopped (no host_down alert). */
  async function markDown(hostId: string, reason: string, graceful = false): Promise<void> {
    const pending: AmsEventInput[] = [];
    let published: () => void = () => undefined;
    const was = await db.knex.transaction(async (trx) => {
      const before = await hostsRepo(trx).setStatus(hostId, 'down');
      if (before === undefined) return undefined;
      const w = statusWriter(trx, (e) => pending.push(e), 'observed');
      for (const agentId of await desiredStateRepo(trx).idsOfHost(hostId)) {
        const row = await agentStatusRepo(trx).get(agentId);
        if (row && row.health_status !== 'unknown') {
          await w.setHealth(agentId, 'unknown', [{ kind: 'host', level: 'unknown', message: `host ${hostId} is down: ${reason}` }], { cause: 'host_down', host_id: hostId });
        }
      }
      pending.push({ type: 'host.down', host_id: hostId, details: { reason, previous: before, graceful } });
      published = await deps.events.record(trx, pending);
      return before;
    });
    if (was === undefined) return;
    published();
    logger.warn({ hostId, reason }, 'host down');
  }

  async function onEntry(e: KvWatchEntry): Promise<void> {
    if (e.operation === 'PUT') {
      const first = !renewed.has(e.key);
      renewed.set(e.key, Date.now());
      revisions.set(e.key, e.revision);
      if (first) await markUp(e.key);
      else await hostsRepo(db.knex).touch(e.key, new Date());
    } else {
      renewed.delete(e.key);
      revisions.delete(e.key);
      await markDown(e.key, 'its supervisor stopped', true);
    }
  }

  /** The revision of the host's lease in the bucket itself: null when it holds none, undefined when JetStream cannot say. */
  async function leaseRevision(hostId: string): Promise<number | null | undefined> {
    try {
      const nc = deps.connection.raw();
      if (!nc || deps.connection.status() !== 'connected') return undefined;
      const e = await (await openLeaseBuckets(nc, deps.leaseTtlMs)).leases.get(hostId);
      return e && e.operation === 'PUT' ? e.revision : null;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the host's lease has really lapsed, asked of the bucket before calling the host down.
   * The watch is an ordered consumer with one replica: when its NATS node dies it may hear nothing
   * for a minute while the supervisor renews on. A lease written since the watch last saw it (the
   * bucket drops one not renewed within its lifetime) means the watch is stale: made again.
   * Nothing is called down while JetStream cannot say.
   */
  async function lapsed(hostId: string): Promise<boolean> {
    const revision = await leaseRevision(hostId);
    if (revision === undefined) return false;
    if (revision === null || revision === revisions.get(hostId)) return true;
    renewed.set(hostId, Date.now());
    revisions.set(hostId, revision);
    if (watchingSince !== undefined) {
      logger.warn({ hostId }, 'the host lease watch missed renewals; watching again');
      beginWatching();
    }
    return false;
  }

  async function sweep(): Promise<void> {
    const now = Date.now();
    for (const [hostId, at] of renewed) {
      if (now - at > deps.leaseTtlMs + 1000 && (await lapsed(hostId))) {
        renewed.delete(hostId);
        await markDown(hostId, `its supervisor has not renewed its lease for ${Math.round((now - at) / 1000)} s`);
      }
    }
    // Hosts the table says are up that hold no lease (the control plane was away when they went),
    // once the watch has run for a lease's lifetime: not while it is being made again, nor when it
    // was made again while this sweep waited (a reconnection clears what the old watch had seen).
    const settled = (gen: number) => gen === generation && watchingSince !== undefined && Date.now() - watchingSince > deps.leaseTtlMs + 1000;
    const gen = generation;
    if (!settled(gen)) return;
    for (const h of await hostsRepo(db.knex).list()) {
      if (!settled(gen)) return;
      if (h.status !== 'up' || renewed.has(h.id) || !(await lapsed(h.id))) continue;
      if (settled(gen) && !renewed.has(h.id)) await markDown(h.id, 'its supervisor holds no lease');
    }
  }

  async function watch(mine: number): Promise<void> {
    const nc = deps.connection.raw();
    if (!nc) throw new Error('not connected to NATS');
    const { leases } = await openLeaseBuckets(nc, deps.leaseTtlMs);
    const iter = await (leases as KV).watch({ key: '>' });
    if (mine !== generation || !active) {
      iter.stop();
      return;
    }
    watcher = iter;
    watchingSince = Date.now();
    void (async () => {
      for await (const e of iter) {
        if (!active) break;
        await onEntry(e).catch((err) => logger.warn({ err: (err as Error).message, hostId: e.key }, 'host status not recorded'));
      }
    })();
  }

  /** Watches the leases, trying again until it works (JetStream may be electing leaders after a node loss). */
  function beginWatching(): void {
    const mine = ++generation;
    watcher?.stop();
    watcher = undefined;
    watchingSince = undefined;
    void (async () => {
      while (active && !stopped && mine === generation) {
        try {
          if (await deps.connection.waitConnected(5000)) {
            await watch(mine);
            return;
          }
        } catch (err) {
          logger.debug({ err: (err as Error).message }, 'host leases not watched yet');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  function activate(): void {
    active = true;
    beginWatching();
    timer = setInterval(() => void sweep().catch((err) => logger.debug({ err: (err as Error).message }, 'host sweep failed')), deps.checkMs ?? 1000);
    timer.unref();
  }

  function deactivate(): void {
    active = false;
    generation += 1;
    clearInterval(timer);
    watcher?.stop();
    watcher = undefined;
    watchingSince = undefined;
    renewed.clear();
    revisions.clear();
  }

  // A reconnection may have replaced the connection the watch ran on.
  const offConnected = deps.connection.onConnected(() => {
    if (!active) return;
    // The watch starts over with every lease's current value: each counts as a renewal seen now.
    renewed.clear();
    beginWatching();
  });

  return {
    start(): void {
      lock.start(activate, deactivate);
    },
    async stop(): Promise<void> {
      stopped = true;
      offConnected();
      deactivate();
      await lock.stop();
    },
  };
}
