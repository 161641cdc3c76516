// Fencing (DESIGN.md "Cluster"): one supervisor per host id. The holder keeps a lease in the
// JetStream KV bucket OPMAS_HOST_LEASES (bucket max_age = the lease time, nats-server 2.9 has no
// per-key TTL), renewed by compare-and-set on its revision; each new holder takes the next epoch
// from OPMAS_HOST_EPOCHS (compare-and-set too), and every observation carries it. A second
// supervisor for a live holder's host id refuses to start, naming the holder; one restarted
// after the holder died (same machine and data dir, the recorded process gone, or the lease
// expired) takes over with the next epoch.
import { clusterReplicas } from '../broker/cluster-size.js';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { EPOCHS_BUCKET, LEASES_BUCKET } from '../broker/host-protocol.js';
import { AmsError } from '../errors.js';

export interface LeaseHolder {
  holder: string;
  pid: number;
  machine: string;
  data_dir: string;
  epoch: number;
  started_at: string;
  renewed_at: string;
  version: string;
}

/** Another supervisor, alive, holds this host id. */
export class HostHeld extends AmsError {
  constructor(
    readonly hostId: string,
    readonly holderInfo: LeaseHolder,
  ) {
    super(
      409,
      'host_held',
      `host ${hostId} is held by another supervisor (pid ${holderInfo.pid} on ${holderInfo.machine}, data dir ${holderInfo.data_dir}, epoch ${holderInfo.epoch}, since ${holderInfo.started_at}); stop it first or use another --host-id`,
    );
  }
}

export interface HostLeaseOptions {
  hostId: string;
  dataDir: string;
  version: string;
  logger: Logger;
  /** How long a lease lives without renewal (the bucket's max_age), ms. */
  ttlMs: number;
  renewMs: number;
  /** Called once when another holder took the host id over: this supervisor must stop acting. */
  onLost(holder: LeaseHolder | undefined): void;
  /** The lease had lapsed (the control plane may have called the host down) and is held again. */
  onRegained?(): void;
  /** Whether a holder recorded with this very process's pid is still alive in it (tests run two supervisors in one process). */
  isLiveHolderHere?(holder: string): boolean;
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Opens (or creates) the lease and epoch buckets, replicated across the NATS cluster. */
export async function openLeaseBuckets(nc: NatsConnection, ttlMs: number, replicas = clusterReplicas(nc)): Promise<{ leases: KV; epochs: KV }> {
  const kvm = new Kvm(nc);
  const open = async (name: string, opts: Record<string, unknown>) => {
    try {
      return await kvm.create(name, { history: 1, replicas, ...opts });
    } catch (err) {
      // Made by another process with other settings (replicas, say): use it as it is. Reads are
      // direct gets when the bucket allows them (a supervisor may only read its own key that way).
      const status = await (await kvm.open(name)).status().catch(() => {
        throw err;
      });
      return kvm.open(name, { allow_direct: status.streamInfo.config.allow_direct === true });
    }
  };
  const leases = await open(LEASES_BUCKET, { ttl: ttlMs });
  const epochs = await open(EPOCHS_BUCKET, {});
  return { leases, epochs };
}

export type HostLease = Awaited<ReturnType<typeof acquireHostLease>>;

/** Acquires the host id's lease (HostHeld when a live supervisor holds it) and keeps renewing it. */
export async function acquireHostLease(nc: () => NatsConnection | undefined, opts: HostLeaseOptions) {
  const { hostId, logger } = opts;
  const me = randomUUID();
  const startedAt = new Date().toISOString();
  const conn = nc();
  if (!conn) throw new Error('not connected to NATS');
  let buckets = await openLeaseBuckets(conn, opts.ttlMs);
  const dataDir = path.resolve(opts.dataDir);
  const value = (epoch: number): LeaseHolder => ({
    holder: me, pid: process.pid, machine: os.hostname(), data_dir: dataDir, epoch, started_at: startedAt, renewed_at: new Date().toISOString(), version: opts.version,
  });
  const encode = (v: LeaseHolder) => JSON.stringify(v);
  const read = async (): Promise<{ holder: LeaseHolder; revision: number } | undefined> => {
    const e = await buckets.leases.get(hostId);
    if (!e || e.operation !== 'PUT' || e.length === 0) return undefined;
    try {
      return { holder: e.json<LeaseHolder>(), revision: e.revision };
    } catch {
      return undefined;
    }
  };
  const readEpoch = async () => {
    const e = await buckets.epochs.get(hostId);
    return e && e.operation === 'PUT' ? { epoch: Number(e.string()) || 0, revision: e.revision } : undefined;
  };

  let epoch = 0;
  let revision = 0;
  for (let tries = 0; ; tries++) {
    const current = await read();
    if (current && current.holder.holder !== me) {
      const h = current.holder;
      const gone = h.pid === process.pid ? !(opts.isLiveHolderHere?.(h.holder) ?? true) : !pidAlive(h.pid);
      const deadHere = h.machine === os.hostname() && h.data_dir === dataDir && gone;
      if (!deadHere) throw new HostHeld(hostId, h);
      logger.warn({ hostId, pid: h.pid, epoch: h.epoch }, 'the previous supervisor of this host is gone; taking over');
    }
    const e = await readEpoch();
    const next = Math.max(e?.epoch ?? 0, current?.holder.epoch ?? 0) + 1;
    try {
      if (e) await buckets.epochs.update(hostId, String(next), e.revision);
      else await buckets.epochs.create(hostId, String(next));
      revision = current ? await buckets.leases.update(hostId, encode(value(next)), current.revision) : await buckets.leases.create(hostId, encode(value(next)));
      epoch = next;
      break;
    } catch (err) {
      // Someone else moved first: look again (it may be a live holder now).
      if (tries >= 5) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  logger.info({ hostId, epoch }, 'holding the host lease');

  let stopped = false;
  let lost = false;
  let renewing = false;
  const loseTo = (holder: LeaseHolder | undefined) => {
    if (lost) return;
    lost = true;
    stopped = true;
    clearInterval(timer);
    logger.error({ hostId, epoch, holder: holder ? { pid: holder.pid, machine: holder.machine, epoch: holder.epoch } : null }, 'another supervisor took this host over; this one stops acting');
    opts.onLost(holder);
  };

  async function renew(): Promise<void> {
    if (stopped || renewing) return;
    const c = nc();
    if (!c) return;
    renewing = true;
    try {
      try {
        revision = await buckets.leases.update(hostId, encode(value(epoch)), revision);
        return;
      } catch {
        // The revision moved: the lease expired (NATS was away longer than the lease) or someone took it.
      }
      const current = await read();
      if (current && current.holder.holder !== me) return loseTo(current.holder);
      const e = await readEpoch();
      if (e && e.epoch !== epoch) return loseTo(current?.holder);
      revision = current ? await buckets.leases.update(hostId, encode(value(epoch)), current.revision) : await buckets.leases.create(hostId, encode(value(epoch)));
      logger.info({ hostId, epoch }, 'host lease renewed after it had lapsed');
      opts.onRegained?.();
    } catch (err) {
      // NATS away: the processes go on; the lease is renewed when it is back.
      logger.debug({ err: (err as Error).message }, 'host lease not renewed this time');
      if (nc() !== conn) {
        try {
          buckets = await openLeaseBuckets(nc()!, opts.ttlMs);
        } catch {
          // next time
        }
      }
    } finally {
      renewing = false;
    }
  }
  const timer = setInterval(() => void renew(), opts.renewMs);
  timer.unref();

  return {
    hostId,
    epoch,
    holder: me,
    lost: () => lost,
    renew,
    /** Stops renewing; `release` deletes the lease so a successor need not wait for it to expire. */
    async stop(release: boolean): Promise<void> {
      if (stopped && !release) return;
      stopped = true;
      clearInterval(timer);
      if (release && !lost) {
        try {
          const current = await read();
          if (current?.holder.holder === me) await buckets.leases.delete(hostId, { previousSeq: current.revision });
        } catch {
          // It expires by itself.
        }
      }
    },
  };
}
