// The Prometheus exposition of GET /metrics: the AMS process (prom-client's default metrics),
// each agent's state, health, restarts and heartbeat age, its latest resource sample, and the
// ingest and broker consumer counters. One Registry per AMS instance (never prom-client's
// global one: several AMS run in one test process). Values are read at scrape time.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../db/database.js';
import { type AgentExpositionRow, metricsRepo } from '../db/metrics.repo.js';
import type { EventBus } from '../events/bus.js';
import type { BrokerHealth } from '../broker/index.js';
import type { IngestStats } from './ingest.js';
import { PROCESS_STATES } from '../domain/state-machine.js';

export { HEALTH_STATES, RECOVERY_STATES } from '../domain/statuses.js';
import { HEALTH_STATES, RECOVERY_STATES } from '../domain/statuses.js';

export interface PrometheusDeps {
  db: Database;
  events: EventBus;
  ingestStats: () => IngestStats;
  brokerHealth: () => Promise<BrokerHealth>;
  /** This process's supervisor (role all or supervisor), for the sampling counters. */
  sampler?: () => { ticks: number; write_failures: number } | undefined;
}

export type PrometheusExporter = ReturnType<typeof createPrometheusExporter>;

export function createPrometheusExporter(deps: PrometheusDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers });

  const m = {
    info: gauge('opmas_agent_info', 'Registered agent (always 1), with its name, type and version', ['agent_id', 'agent_name', 'agent_type', 'agent_version']),
    status: gauge('opmas_agent_status', 'Process status of the agent: 1 for the current status, 0 for the others', ['agent_id', 'status']),
    health: gauge('opmas_agent_health', 'Health of the agent: 1 for the current health, 0 for the others', ['agent_id', 'health']),
    recovery: gauge('opmas_agent_recovery_status', 'Recovery status of the agent: 1 for the current one, 0 for the others', ['agent_id', 'recovery_status']),
    restarts: counter('opmas_agent_restarts_total', 'Process starts of the agent beyond the first (status history process_started rows - 1)', ['agent_id']),
    heartbeatAge: gauge('opmas_agent_heartbeat_age_seconds', 'Seconds since the last heartbeat (absent for agents never heard from)', ['agent_id']),
    cpu: gauge('opmas_agent_cpu_percent', 'Latest sampled CPU of the agent process, percent of one core', ['agent_id']),
    memory: gauge('opmas_agent_memory_bytes', 'Latest sampled resident memory of the agent process', ['agent_id']),
    agents: gauge('opmas_agents', 'Registered agents'),
    ingestHeartbeats: counter('opmas_ingest_heartbeats_total', 'Heartbeats received from agents'),
    ingestMetricRows: counter('opmas_ingest_metric_rows_total', 'Agent metric rows written'),
    ingestLogRows: counter('opmas_ingest_log_rows_total', 'Agent log rows written'),
    ingestFlushes: counter('opmas_ingest_flushes_total', 'Batched ingest writes'),
    ingestUnknownStatus: counter('opmas_ingest_unknown_status_total', 'Heartbeats whose status word the protocol does not define (kept as the reported status; the heartbeat still counts)'),
    ingestLastFlush: gauge('opmas_ingest_last_flush_seconds', 'Duration of the last ingest flush'),
    dropped: counter('opmas_broker_dropped_messages_total', 'Agent messages the AMS dropped, by reason', ['reason']),
    brokerUp: gauge('opmas_broker_up', '1 when the AMS is connected to the broker'),
    samplerTicks: counter('opmas_sampler_ticks_total', 'Resource sampling rounds'),
    samplerFailures: counter('opmas_sampler_write_failures_total', 'Resource sampling rounds whose rows could not be stored'),
    events: counter('opmas_events_published_total', 'Events published on the AMS event bus'),
  };

  function setAgents(rows: AgentExpositionRow[]): void {
    m.agents.set(rows.length);
    for (const r of rows) {
      const agent_id = r.id;
      m.info.set({ agent_id, agent_name: r.name, agent_type: r.type, agent_version: r.version }, 1);
      for (const s of PROCESS_STATES) m.status.set({ agent_id, status: s }, r.process_status === s ? 1 : 0);
      for (const h of HEALTH_STATES) m.health.set({ agent_id, health: h }, r.health_status === h ? 1 : 0);
      for (const s of RECOVERY_STATES) m.recovery.set({ agent_id, recovery_status: s }, r.recovery_status === s ? 1 : 0);
      m.restarts.inc({ agent_id }, r.restarts);
      if (r.heartbeat_age_s !== null) m.heartbeatAge.set({ agent_id }, Math.max(0, r.heartbeat_age_s));
      if (r.cpu_percent !== null) m.cpu.set({ agent_id }, r.cpu_percent);
      if (r.memory_mb !== null) m.memory.set({ agent_id }, r.memory_mb * 1_048_576);
    }
  }

  async function scrape(): Promise<string> {
    const [rows, broker] = await Promise.all([metricsRepo(deps.db.knex).agentExposition(), deps.brokerHealth().catch(() => undefined)]);
    // Agents deleted since the last scrape must disappear: start every labelled series afresh.
    for (const metric of Object.values(m)) metric.reset();
    setAgents(rows);
    const ingest = deps.ingestStats();
    m.ingestHeartbeats.inc(ingest.heartbeats);
    m.ingestMetricRows.inc(ingest.metricRows);
    m.ingestLogRows.inc(ingest.logRows);
    m.ingestFlushes.inc(ingest.flushes);
    m.ingestUnknownStatus.inc(ingest.unknownStatuses ?? 0);
    m.ingestLastFlush.set(ingest.lastFlushMs / 1000);
    for (const [reason, n] of Object.entries(broker?.dropped_messages ?? {})) m.dropped.inc({ reason }, n);
    m.brokerUp.set(broker?.connection === 'connected' ? 1 : 0);
    const sampler = deps.sampler?.();
    m.samplerTicks.inc(sampler?.ticks ?? 0);
    m.samplerFailures.inc(sampler?.write_failures ?? 0);
    m.events.inc(deps.events.lastId());
    return registry.metrics();
  }

  let queue: Promise<unknown> = Promise.resolve();
  return {
    registry,
    contentType: registry.contentType,
    /** The text exposition; scrapes run one at a time because each one resets and refills the series. */
    expose(): Promise<string> {
      const next = queue.then(scrape, scrape);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
