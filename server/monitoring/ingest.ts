// Ingest of what agents publish (heartbeat, status, metrics, logs) into the database, with
// batched writes: heartbeats and status are coalesced per agent (the latest wins) and
// applied in one UPDATE per flush; metric and log rows go in multi-row INSERTs. Messages
// for unknown agents change nothing. Listeners see each message as it arrives (the health
// monitor keeps heartbeat times in memory).
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { AgentMessage, AgentMessageHandlers } from '../broker/index.js';
import type { HeartbeatBody, LogBody, MetricsBody, StatusBody } from '../broker/protocol.js';
import { asDatabaseUnavailable } from '../db/database.js';
import { createStatusWordWatch } from './status-words.js';
import { heartbeatLatencyMs } from '../domain/metric-series.js';

export interface IngestListeners {
  heartbeat?(agentId: string, body: HeartbeatBody, at: Date): void;
  status?(agentId: string, body: StatusBody, at: Date): void;
  metrics?(agentId: string, body: MetricsBody, at: Date): void;
  log?(agentId: string, body: LogBody, at: Date): void;
}

interface Reported {
  heartbeatAt?: Date;
  uptime?: number;
  status?: string;
  detail?: string | null;
}

export interface IngestStats {
  /** Batches kept for the next flush because the database was unavailable. */
  retried: number;
  /** Metric and log rows dropped because too many were waiting (the database away for long). */
  dropped_rows: number;
  flushes: number;
  heartbeats: number;
  metricRows: number;
  logRows: number;
  lastFlushMs: number;
  /** Heartbeats whose status word the protocol does not define (still proof of life). */
  unknownStatuses: number;
}

const CHUNK = 1000;
const MAX_PENDING_ROWS = 50_000;

export type Ingest = ReturnType<typeof createIngest>;

export interface IngestDeps {
  db: Database;
  logger: Logger;
  flushMs?: number;
  listeners?: IngestListeners;
  /** Records what agents reported about themselves (the status service: the only writer of agent_status). */
  reportedStatus: (entries: ReportedEntry[]) => Promise<void>;
}

export interface ReportedEntry {
  agentId: string;
  heartbeatAt: Date | null;
  uptime: number | null;
  status: string | null;
  detail: string | null;
}

export function createIngest({ db, logger, flushMs = 100, listeners = {}, reportedStatus }: IngestDeps) {
  let reported = new Map<string, Reported>();
  let metricRows: Array<{ agent_id: string; name: string; value: number; timestamp: Date }> = [];
  let logRows: Array<{ agent_id: string; level: string; message: string; context: string | null; source: string; timestamp: Date }> = [];
  let flushing: Promise<void> | undefined;
  const stats: IngestStats = { retried: 0, dropped_rows: 0, flushes: 0, heartbeats: 0, metricRows: 0, logRows: 0, lastFlushMs: 0, unknownStatuses: 0 };
  const statusWords = createStatusWordWatch({ logger });
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  const entry = (id: string) => {
    let r = reported.get(id);
    if (!r) reported.set(id, (r = {}));
    return r;
  };

  function addMetrics(agentId: string, values: Record<string, unknown>, at: Date): void {
    if (metricRows.length >= MAX_PENDING_ROWS) return;
    for (const [name, value] of Object.entries(values)) {
      if (typeof value === 'number' && Number.isFinite(value) && name !== 'agent_id') metricRows.push({ agent_id: agentId, name, value, timestamp: at });
    }
  }

  async function flush(): Promise<void> {
    if (flushing) return flushing;
    if (reported.size === 0 && metricRows.length === 0 && logRows.length === 0) return;
    const batch = { reported, metricRows, logRows };
    reported = new Map();
    metricRows = [];
    logRows = [];
    const started = performance.now();
    flushing = (async () => {
      try {
        // What agents say about themselves goes through the status service's own repo function.
        const entries = [...batch.reported.entries()];
        for (let i = 0; i < entries.length; i += CHUNK) {
          await reportedStatus(
            entries.slice(i, i + CHUNK).map(([id, r]) => ({ agentId: id, heartbeatAt: r.heartbeatAt ?? null, uptime: r.uptime ?? null, status: r.status ?? null, detail: r.detail ?? null })),
          );
        }
        // Rows of agents that were deleted meanwhile are dropped by the join.
        for (let i = 0; i < batch.metricRows.length; i += CHUNK) {
          await insertKnown('agent_metrics', ['agent_id', 'name', 'value', 'timestamp'], batch.metricRows.slice(i, i + CHUNK));
        }
        for (let i = 0; i < batch.logRows.length; i += CHUNK) {
          await insertKnown('agent_logs', ['agent_id', 'level', 'message', 'context', 'source', 'timestamp'], batch.logRows.slice(i, i + CHUNK));
        }
        stats.flushes += 1;
        stats.metricRows += batch.metricRows.length;
        stats.logRows += batch.logRows.length;
      } catch (err) {
        if (asDatabaseUnavailable(err)) {
          // Nothing is lost while the database is away: the batch waits for the next flush (newer
          // heartbeats of the same agent win; rows are kept up to the bound, oldest dropped first).
          for (const [id, r] of batch.reported) if (!reported.has(id)) reported.set(id, r);
          const keep = (older: typeof metricRows, newer: typeof metricRows) => {
            const all = [...older, ...newer];
            const over = all.length - MAX_PENDING_ROWS;
            if (over > 0) stats.dropped_rows += over;
            return over > 0 ? all.slice(over) : all;
          };
          metricRows = keep(batch.metricRows, metricRows);
          logRows = [...batch.logRows, ...logRows];
          if (logRows.length > MAX_PENDING_ROWS) {
            stats.dropped_rows += logRows.length - MAX_PENDING_ROWS;
            logRows = logRows.slice(logRows.length - MAX_PENDING_ROWS);
          }
          if (stats.retried++ % 50 === 0) logger.warn({ err: (err as Error).message, heartbeats: reported.size, metrics: metricRows.length, logs: logRows.length }, 'the database is unavailable; ingest keeps its batch for the next flush');
        } else {
          logger.warn({ err: (err as Error).message, heartbeats: batch.reported.size, metrics: batch.metricRows.length, logs: batch.logRows.length }, 'ingest flush failed; batch dropped');
        }
      } finally {
        stats.lastFlushMs = performance.now() - started;
        flushing = undefined;
      }
    })();
    return flushing;
  }

  /** INSERT ... SELECT FROM VALUES joined to agents, so rows of unknown agents are skipped. */
  async function insertKnown(table: string, columns: string[], rows: Array<Record<string, unknown>>): Promise<void> {
    if (rows.length === 0) return;
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    const bindings = rows.flatMap((r) => columns.map((c) => (r[c] instanceof Date ? (r[c] as Date).toISOString() : r[c]))) as Knex.RawBinding[];
    const casts: Record<string, string> = { timestamp: '::timestamptz', value: '::float8', context: '::jsonb' };
    await db.knex.raw(
      `INSERT INTO ${table} (${columns.join(', ')})
       SELECT ${columns.map((c) => `v.${c}${casts[c] ?? ''}`).join(', ')}
       FROM (VALUES ${rows.map(() => tuple).join(', ')}) AS v(${columns.join(', ')})
       JOIN agents a ON a.id = v.agent_id`,
      bindings,
    );
  }

  const handlers: AgentMessageHandlers = {
    heartbeat(m: AgentMessage<HeartbeatBody>) {
      const r = entry(m.agentId);
      r.heartbeatAt = m.receivedAt;
      r.uptime = m.body.uptime;
      r.status = m.body.status;
      statusWords.note(m.agentId, m.body.status);
      stats.heartbeats += 1;
      if (m.body.metrics) addMetrics(m.agentId, m.body.metrics, m.receivedAt);
      addMetrics(m.agentId, { heartbeat_latency_ms: heartbeatLatencyMs(m.body.timestamp, m.receivedAt) }, m.receivedAt);
      listeners.heartbeat?.(m.agentId, m.body, m.receivedAt);
    },
    status(m: AgentMessage<StatusBody>) {
      const r = entry(m.agentId);
      r.status = m.body.status;
      r.detail = m.body.detail ?? null;
      listeners.status?.(m.agentId, m.body, m.receivedAt);
    },
    metrics(m: AgentMessage<MetricsBody>) {
      addMetrics(m.agentId, m.body, m.receivedAt);
      listeners.metrics?.(m.agentId, m.body, m.receivedAt);
    },
    logs(m: AgentMessage<LogBody>) {
      if (logRows.length < MAX_PENDING_ROWS) {
        logRows.push({
          agent_id: m.agentId,
          level: m.body.level,
          message: m.body.message,
          context: m.body.context ? JSON.stringify(m.body.context) : null,
          source: 'nats',
          timestamp: new Date(m.body.timestamp),
        });
      }
      listeners.log?.(m.agentId, m.body, m.receivedAt);
    },
  };

  return {
    handlers,
    stats: () => ({ ...stats, unknownStatuses: statusWords.unknown() }),
    flush,
    async stop(): Promise<void> {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}
