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
  flushes: number;
  heartbeats: number;
  metricRows: number;
  logRows: number;
  lastFlushMs: number;
}

const CHUNK = 1000;
const MAX_PENDING_ROWS = 50_000;

export type Ingest = ReturnType<typeof createIngest>;

export function createIngest({ db, logger, flushMs = 100, listeners = {} }: { db: Database; logger: Logger; flushMs?: number; listeners?: IngestListeners }) {
  let reported = new Map<string, Reported>();
  let metricRows: Array<{ agent_id: string; name: string; value: number; timestamp: Date }> = [];
  let logRows: Array<{ agent_id: string; level: string; message: string; context: string | null; source: string; timestamp: Date }> = [];
  let flushing: Promise<void> | undefined;
  const stats: IngestStats = { flushes: 0, heartbeats: 0, metricRows: 0, logRows: 0, lastFlushMs: 0 };
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
        const entries = [...batch.reported.entries()];
        for (let i = 0; i < entries.length; i += CHUNK) {
          const chunk = entries.slice(i, i + CHUNK);
          const values = chunk.map(() => '(?, ?::timestamptz, ?::float8, ?, ?)').join(', ');
          const bindings = chunk.flatMap(([id, r]) => [id, r.heartbeatAt?.toISOString() ?? null, r.uptime ?? null, r.status ?? null, r.detail ?? null]);
          await db.knex.raw(
            `UPDATE agent_status AS s SET
               last_heartbeat = COALESCE(v.t, s.last_heartbeat),
               uptime_s = COALESCE(v.u, s.uptime_s),
               reported_status = COALESCE(v.r, s.reported_status),
               reported_detail = CASE WHEN v.r IS NULL THEN s.reported_detail ELSE v.d END,
               updated_at = now()
             FROM (VALUES ${values}) AS v(id, t, u, r, d)
             WHERE s.agent_id = v.id`,
            bindings,
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
        logger.warn({ err: (err as Error).message, heartbeats: batch.reported.size, metrics: batch.metricRows.length, logs: batch.logRows.length }, 'ingest flush failed; batch dropped');
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
    stats: () => ({ ...stats }),
    flush,
    async stop(): Promise<void> {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}
