// How many copies the cluster's JetStream streams and KV buckets keep: min(3, the servers in the
// NATS cluster as the connected server advertises them), so a stream survives one node's loss
// in the 3-node cluster and still works on the single embedded server.
import type { NatsConnection } from '@nats-io/transport-node';

export function clusterReplicas(nc: NatsConnection): number {
  const info = (nc as unknown as { info?: { connect_urls?: string[] } }).info;
  const others = info?.connect_urls?.length ?? 0;
  return Math.max(1, Math.min(3, others > 0 ? others : 1));
}
