// The renderer's names for the AMS's types, from the generated OpenAPI types (the server's zod
// schemas). live-events.ts holds the live stream's messages, which OpenAPI does not describe.
import type { components, operations } from './openapi.gen';

type Schemas = components['schemas'];

export type Agent = Schemas['Agent'];
export type ProcessStatus = Agent['status'];
export type HealthStatus = Agent['health'];
export type RecoveryStatus = Agent['recovery'];
export type Health = Schemas['Health'];
export type Me = Schemas['Me'];
export type TokenPair = Schemas['TokenPair'];
export type SetupAnswer = Schemas['SetupAnswer'];
export type EffectiveConfig = Schemas['EffectiveConfig'];
export type ConfigSource = EffectiveConfig['effective'][string]['source'];
export type ConfigVersion = Schemas['ConfigVersion'];
export type AgentConfigVersion = Schemas['AgentConfigVersion'];
export type Package = Schemas['Package'];
export type PackageStatus = Package['status'];
export type PackageScan = Schemas['PackageScan'];
export type PackagesDirectory = Schemas['PackagesDirectory'];
export type SetupStatus = Schemas['SetupStatus'];
export type DiscoveryToken = Schemas['DiscoveryToken'];
export type NewDiscoveryToken = Schemas['NewDiscoveryToken'];
export type RotatedCredentials = Schemas['RotatedCredentials'];
export type AuditEntry = Schemas['AuditEntry'];
export type Alert = Schemas['Alert'];
export type AlertSeverity = Alert['severity'];
export type AlertStatus = Alert['status'];
export type AgentStatusReport = Schemas['AgentStatus'];
export type StatusHistoryEntry = Schemas['StatusHistoryEntry'];
export type AgentHealthReport = Schemas['AgentHealth'];
export type HealthReason = Schemas['HealthReason'];
export type FleetStatus = Schemas['FleetStatus'];
/** The editable policy fields (what PUT takes and GET /recovery embeds). */
export type RecoveryPolicy = Schemas['RecoveryPolicyFields'];
/** GET/PUT /recovery/policy: the fields, where they come from and who changed them. */
export type StoredRecoveryPolicy = Schemas['RecoveryPolicy'];
export type RecoveryAttempt = Schemas['RecoveryAttempt'];
export type RecoveryState = Schemas['AgentRecovery'];
export type MetricsSeries = Schemas['AgentMetricSeries'];
export type LogEntry = Schemas['LogLine'];
export type ConfigApply = Schemas['ConfigApply'];
export type AlertRule = Schemas['AlertRule'];
export type BulkAckResult = Schemas['BulkAckResult'];
export type Silence = Schemas['Silence'];
export type NewSilence = Schemas['CreateSilence'];
export type NotificationChannel = Schemas['NotificationChannel'];
export type NotificationChannels = Schemas['NotificationChannels'];
export type PutNotificationChannels = Schemas['PutNotificationChannels'];
export type AlertRouting = Schemas['AlertRouting'];
export type ChannelTestResult = Schemas['ChannelTestResult'];
export type User = Schemas['User'];
export type Role = Schemas['Role'];
export type ApiToken = Schemas['ApiToken'];
export type NewApiToken = Schemas['NewApiToken'];
export type StateCounts = Schemas['StateCounts'];
export type FleetSeries = Schemas['FleetMetricSeries'];
export type Permission = operations['createRole']['requestBody']['content']['application/json']['permissions'][number];
export type AlertSort = 'newest' | 'severity' | 'last_seen';

export type LifecycleAction = 'start' | 'stop' | 'restart';

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const PROCESS_STATUSES: readonly ProcessStatus[] = ['discovered', 'registered', 'starting', 'running', 'stopping', 'stopped', 'failed', 'degraded'];
export const HEALTH_STATUSES: readonly HealthStatus[] = ['healthy', 'warning', 'critical', 'unknown'];
export const RECOVERY_STATUSES: readonly RecoveryStatus[] = ['none', 'in_progress', 'success', 'failed'];

export * from './live-events';
