// The JetStream resources of the cluster protocol, created when missing by whoever needs them
// first (control plane or supervisor): the observation stream and the host lease and epoch KV
// buckets, with replicas = min(3, cluster size). nats-server 2.9 is enough for all of it.
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { OBSERVATIONS_STREAM } from './host-protocol.js';
import { subjects } from './subjects.js';
import { openLeaseBuckets } from '../supervisor/host-lease.js';
import { clusterReplicas } from './cluster-size.js';

export { clusterReplicas };

/** Observations are kept until applied (and for a week at most, a gigabyte at most). */
export async function ensureObservationStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  try {
    await jsm.streams.info(OBSERVATIONS_STREAM);
    return;
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
  }
  try {
    await jsm.streams.add({
      name: OBSERVATIONS_STREAM,
      subjects: [subjects.everyHost.observations],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: clusterReplicas(nc),
      max_age: 7 * 24 * 3600 * 1_000_000_000,
      max_bytes: 1024 * 1024 * 1024,
      duplicate_window: 120 * 1_000_000_000,
    });
  } catch (err) {
    // Made meanwhile by another process: fine.
    if (!/already in use|exists/i.test((err as Error).message)) throw err;
  }
}

/** Everything the cluster protocol needs in JetStream. */
export async function ensureClusterResources(nc: NatsConnection, leaseTtlMs: number): Promise<void> {
  await ensureObservationStream(nc);
  await openLeaseBuckets(nc, leaseTtlMs);
}
