// What the supervisor's parts share: one object built by host-supervisor.ts and handed to the
// launcher, adoption, config apply and the reconciler, so each job lives in its own module
// with its inputs passed in (STYLE.md #12).
import type { Logger } from 'pino';
import type { BrokerConnection } from '../broker/connection.js';
import type { KeyedQueue } from '../util/keyed-queue.js';
import type { LocalStatus } from './local-status.js';
import type { Journal } from './journal.js';
import type { DesiredState } from './desired-state.js';
import type { ProcessManager } from './process-manager.js';
import type { RunRecords } from './run-records.js';
import type { HealthMonitor } from './health-monitor.js';
import type { CredentialClient } from './credential-client.js';
import type { AttemptCause } from './recovery-engine.js';
import type { LifecycleAction } from '../domain/state-machine.js';

/** Why a lifecycle operation happens; goes into the history row's details. */
export type Cause =
  | { cause: 'operator'; action: LifecycleAction; actor: string; correlation_id?: string | null }
  | AttemptCause
  | { cause: 'autostart' | 'desired_state' | 'package_removed' | 'agent_removed' | 'agent_disabled' | 'ams_shutdown' | 'held'; path?: string };

export interface SupervisorContext {
  hostId: string;
  logger: Logger;
  /** The supervisor's environment: PATH and HOME for agents, OPMAS_AGENT_SDK, OPMAS_NATS_TLS_CA. */
  env: NodeJS.ProcessEnv;
  agentsDir: string;
  dataDir: string;
  connection: BrokerConnection;
  status: LocalStatus;
  journal: Journal;
  specs: DesiredState;
  pm: ProcessManager;
  records: RunRecords;
  monitor: HealthMonitor;
  creds: CredentialClient;
  /** Per-agent serialization of every lifecycle operation. */
  queue: KeyedQueue;
  /** The broker URL agents are given. */
  natsUrl(): string | undefined;
  shuttingDown(): boolean;
}
