// The renderer's names for the AMS's types. Those the AMS already serves come from the
// generated OpenAPI types (the server's zod schemas); contract.ts holds the agreed shapes of
// endpoints that are still being built.
import type { components } from './openapi.gen';

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
export type DiscoveryToken = Schemas['DiscoveryToken'];
export type NewDiscoveryToken = Schemas['NewDiscoveryToken'];
export type RotatedCredentials = Schemas['RotatedCredentials'];
export type AuditEntry = Schemas['AuditEntry'];
export type Alert = Schemas['Alert'];
export type AlertSeverity = Alert['severity'];
export type AlertStatus = Alert['status'];

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const PROCESS_STATUSES: readonly ProcessStatus[] = ['discovered', 'registered', 'starting', 'running', 'stopping', 'stopped', 'failed', 'degraded'];
export const HEALTH_STATUSES: readonly HealthStatus[] = ['healthy', 'warning', 'critical', 'unknown'];
export const RECOVERY_STATUSES: readonly RecoveryStatus[] = ['none', 'in_progress', 'success', 'failed'];

export * from './contract';
