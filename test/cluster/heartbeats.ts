// "Each heartbeat written once": a NATS subscriber of its own (the AMS user, on one node the
// scenarios never kill) sees every heartbeat and metrics message the agents publish. Each one
// carries the agent's counters (events_processed, ...), which the ingest writes as one
// agent_metrics row per counter, timestamped when the replica received it. Over a window whose
// edges fall in quiet gaps of the traffic, the rows of one counter must number exactly the
// messages seen: fewer is a message lost, more is a message written by two replicas.
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '../../server/broker/subjects.js';
import { connectWithCreds } from '../helpers/broker.js';

export const COUNTER = 'events_processed';

export interface Seen {
  agentId: string;
  kind: 'heartbeat' | 'metrics';
  at: number;
}

export interface HeartbeatObserver {
  seen: Seen[];
  /** The point within ±`searchMs` of `at` farthest from any message seen (the middle of the widest quiet gap). */
  quietPoint(at: number, searchMs?: number): number;
  /** Messages seen per agent within [from, to). */
  countsBetween(from: number, to: number): Map<string, number>;
  /** The observer's connection (the AMS user; for JetStream management reads). */
  connection: NatsConnection;
  close(): Promise<void>;
}

/** The point within ±`searchMs` of `at` farthest from every time in `times` (ties: the one nearest `at`). */
export function quietPoint(times: number[], at: number, searchMs = 1500): number {
  const near = times.filter((t) => t >= at - searchMs - 5000 && t <= at + searchMs + 5000).sort((a, b) => a - b);
  const distance = (p: number) => near.reduce((d, t) => Math.min(d, Math.abs(p - t)), Infinity);
  const candidates = [at];
  for (let i = 0; i + 1 < near.length; i++) {
    const mid = (near[i] + near[i + 1]) / 2;
    if (Math.abs(mid - at) <= searchMs) candidates.push(mid);
  }
  let best = at;
  for (const p of candidates) {
    const better = distance(p) > distance(best) || (distance(p) === distance(best) && Math.abs(p - at) < Math.abs(best - at));
    if (better) best = p;
  }
  return Math.round(best);
}

export async function startHeartbeatObserver(url: string, creds: string): Promise<HeartbeatObserver> {
  const nc: NatsConnection = await connectWithCreds(url, creds, {
    servers: [url],
    ignoreClusterUpdates: true,
    inboxPrefix: subjects.amsInboxPrefix,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
    name: 'cluster-harness-heartbeat-observer',
  });
  const seen: Seen[] = [];
  for (const kind of ['heartbeat', 'metrics'] as const) {
    nc.subscribe(`opmas.agents.*.${kind}`, {
      callback: (err, msg) => {
        if (err) return;
        const agentId = msg.subject.split('.')[2];
        if (kind === 'heartbeat') {
          // A heartbeat without counters writes no row.
          try {
            const body = JSON.parse(new TextDecoder().decode(msg.data)) as { metrics?: Record<string, unknown> };
            if (typeof body.metrics?.[COUNTER] !== 'number') return;
          } catch {
            return;
          }
        }
        seen.push({ agentId, kind, at: Date.now() });
      },
    });
  }
  await nc.flush();
  return {
    seen,
    quietPoint: (at, searchMs) => quietPoint(seen.map((x) => x.at), at, searchMs),
    countsBetween(from, to) {
      const out = new Map<string, number>();
      for (const s of seen) if (s.at >= from && s.at < to) out.set(s.agentId, (out.get(s.agentId) ?? 0) + 1);
      return out;
    },
    connection: nc,
    async close() {
      await nc.close().catch(() => undefined);
    },
  };
}
