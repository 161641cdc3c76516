// The live stream's messages (WS /api/v1/agents/ws), as the AMS's event bus publishes them
// (server/events/bus.ts): OpenAPI does not describe WebSocket messages, so they are typed here.
import type { Alert, AuditEntry, HealthReason, HealthStatus, ProcessStatus, Silence } from './types';

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
  | { type: 'alert.silence.created' | 'alert.silence.ended'; silence: Silence }
  | { type: 'alert.test'; alert: Partial<Alert> & { id: number }; channel: string }
  | { type: 'audit.appended'; entry: AuditEntry }
  | { type: `package.${string}`; path?: string; details?: Record<string, unknown> }
);

export type LiveEventType = LiveEvent['type'];
