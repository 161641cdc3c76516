// Every status vocabulary of the AMS, declared once: the process state machine's states, health,
// recovery, the desired state an operator sets, and a host's state. Schemas, metrics, the
// renderer's client types (through OpenAPI) and the repos all read them from here.

export const PROCESS_STATES = ['discovered', 'registered', 'starting', 'running', 'stopping', 'stopped', 'failed', 'degraded'] as const;
export type ProcessState = (typeof PROCESS_STATES)[number];

export const HEALTH_STATES = ['healthy', 'warning', 'critical', 'unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export const RECOVERY_STATES = ['none', 'in_progress', 'success', 'failed'] as const;
export type RecoveryState = (typeof RECOVERY_STATES)[number];

/** What should be: written only by intent (an operator, autostart at registration, disable/delete, package removal). */
export const DESIRED_STATES = ['running', 'stopped'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

/** A host is up while its supervisor holds the lease on its host id. */
export const HOST_STATES = ['up', 'down', 'unknown'] as const;
export type HostState = (typeof HOST_STATES)[number];

const member = <T extends string>(list: readonly T[]) => (s: unknown): s is T => typeof s === 'string' && (list as readonly string[]).includes(s);
export const isProcessState = member(PROCESS_STATES);
export const isHealthState = member(HEALTH_STATES);
export const isRecoveryState = member(RECOVERY_STATES);
export const isDesiredState = member(DESIRED_STATES);
