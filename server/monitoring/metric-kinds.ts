// Declared metric kinds: the `meta` an agent sends with its metrics messages ({name: {kind,
// unit?}}), stored per agent when it differs from what this AMS stored last, so that a
// declaration repeated with every message costs a comparison, not a write.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { metricKindsRepo } from '../db/metric-kinds.repo.js';
import type { MetricsMeta } from '../broker/protocol.js';

/** Agents whose last stored declaration is remembered; past it the memory starts over (a rewrite costs one upsert). */
const MAX_REMEMBERED = 100_000;

export type MetricKinds = ReturnType<typeof createMetricKinds>;

export function createMetricKinds({ db, logger }: { db: Database; logger: Logger }) {
  const repo = metricKindsRepo(db.knex);
  /** agent -> the declaration stored last, as canonical text. */
  const stored = new Map<string, string>();
  /** agent -> a write in flight, so that a burst of messages writes once. */
  const writing = new Map<string, Promise<void>>();

  const canonical = (meta: MetricsMeta) =>
    JSON.stringify(Object.keys(meta).sort().map((name) => [name, meta[name].kind, meta[name].unit ?? null]));

  return {
    /** A metrics message's `meta`: stored when it changed. A failed write is retried with the next message. */
    note(agentId: string, meta: MetricsMeta | undefined): Promise<void> {
      if (!meta) return Promise.resolve();
      const text = canonical(meta);
      if (stored.get(agentId) === text || writing.has(agentId)) return writing.get(agentId) ?? Promise.resolve();
      const rows = Object.keys(meta).map((name) => ({ name, kind: meta[name].kind, unit: meta[name].unit ?? null }));
      const write = repo
        .upsert(agentId, rows)
        .then(() => {
          if (stored.size >= MAX_REMEMBERED) stored.clear();
          stored.set(agentId, text);
        })
        .catch((err: Error) => logger.warn({ agentId, err: err.message }, 'storing declared metric kinds failed; retried with the next metrics message'))
        .finally(() => writing.delete(agentId));
      writing.set(agentId, write);
      return write;
    },
    forget(agentId: string): void {
      stored.delete(agentId);
    },
  };
}
