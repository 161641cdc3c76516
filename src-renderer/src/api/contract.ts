// Shapes agreed in the issue-5 contracts (notes/common.md) for endpoints the supervisor,
// metrics/logs and alerts/live-events work adds. Once an endpoint is served, its type moves to
// the generated OpenAPI types (types.ts) and leaves this file.
import type { Alert, HealthStatus, ProcessStatus, RecoveryStatus } from './types';

export type LifecycleAction = 'start' | 'stop' | 'restart';

export interface AgentStatusReport {
  agent_id: string;
  process_status: ProcessStatus;
  health_status: HealthStatus;
  recovery_status: RecoveryStatus;
  pid: number | null;
  start_time: string | null;
  last_heartbeat: string | null;
  last_error: string | null;
  uptime_s: number | null;
  reported_status: string | null;
  metrics: Record<string, number | null | undefined>;
}

export interface StatusHistoryEntry {
  id: string | number;
  agent_id: string;
  event_type: string;
  from_status: string | null;
  to_status: string | null;
  details: Record<string, unknown> | null;
  created_at: string;
}

export interface HealthReason {
  kind: string;
  level: string;
  message: string;
  [key: string]: unknown;
}

export interface AgentHealthReport {
  agent_id: string;
  health: HealthStatus;
  reasons: HealthReason[];
  last_heartbeat: string | null;
  heartbeat_interval: number | null;
}

export interface CountsByState {
  total: number;
  process: Partial<Record<ProcessStatus, number>>;
  health: Partial<Record<HealthStatus, number>>;
  recovery: Partial<Record<RecoveryStatus, number>>;
}

export interface FleetStatus {
  agents: CountsByState;
  by_type: Record<string, CountsByState>;
  by_label: Record<string, CountsByState>;
  dependencies: Record<string, unknown>;
}

export interface RecoveryPolicy {
  auto_recovery: boolean;
  max_retries: number;
  retry_delay: number;
  backoff_factor: number;
  max_backoff: number;
  recovery_timeout: number;
  escalation_threshold: number;
  jitter: number;
  stable_after: number;
  notification_channels: string[];
}

export interface RecoveryAttempt {
  attempt_number: number;
  recovery_strategy: string;
  status: string;
  error: string | null;
  started_at: string;
  completed_at: string | null;
  trigger: string;
}

export interface RecoveryState {
  agent_id: string;
  recovery_status: RecoveryStatus;
  can_recover: boolean;
  in_progress: boolean;
  attempts: RecoveryAttempt[];
  remaining: number;
  next_attempt_at: string | null;
  policy: RecoveryPolicy;
  stats: Record<string, unknown>;
}

/** Columnar time series, ready for uPlot: `t` in epoch ms and one array per metric name. */
export interface MetricsSeries {
  agent_id?: string;
  from: string | number;
  to: string | number;
  step: number;
  t: number[];
  [name: string]: (number | null)[] | string | number | undefined;
}

export interface LogEntry {
  id: string | number;
  agent_id: string;
  level: string;
  message: string;
  context: Record<string, unknown> | null;
  source: string;
  timestamp: string;
}

/** The answer of PUT /agents/{id}/config on a running agent (the supervisor adds `apply`). */
export interface ConfigApply {
  status: 'applied' | 'rejected' | 'unanswered' | 'not_running';
  error?: string;
}

/** Events of the live stream (WS /api/v1/agents/ws), as the AMS's event bus publishes them. */
export type LiveEvent = { id: number; time: string; agent_id?: string | null } & (
  | { type: 'status.changed'; agent_id: string; from: ProcessStatus | null; to: ProcessStatus; event_type: string; details: Record<string, unknown> }
  | { type: 'health.changed'; agent_id: string; from: HealthStatus; to: HealthStatus; reasons: HealthReason[] }
  | {
      type: 'recovery.started' | 'recovery.attempt' | 'recovery.succeeded' | 'recovery.failed' | 'recovery.escalated';
      agent_id: string;
      attempt?: number;
      max_attempts?: number;
      trigger?: string;
      error?: string;
      next_attempt_at?: string | null;
      details?: Record<string, unknown>;
    }
  | { type: 'metrics.sample'; agent_id: string; t: number; values: Record<string, number> }
  | { type: 'log.line'; agent_id: string; level: string; message: string; timestamp: string; source: string; context?: Record<string, unknown> | null }
  | { type: 'config.applied' | 'config.rejected' | 'config.rolled_back'; agent_id: string; version: number; details?: Record<string, unknown> }
  | { type: 'alert.raised' | 'alert.updated' | 'alert.acknowledged' | 'alert.resolved'; alert: Partial<Alert> & { id: number } }
  | { type: `package.${string}`; path?: string; details?: Record<string, unknown> }
);

export type LiveEventType = LiveEvent['type'];
