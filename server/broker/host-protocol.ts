// The protocol between the control plane (API replicas) and the supervisor of each host
// (DESIGN.md "Cluster"), as zod schemas both sides use:
// - observations: what a supervisor saw, durable (JetStream stream OPMAS_OBSERVATIONS), each with
//   its host, epoch and per-host sequence, applied once and in order by the control plane;
// - agent specs: what should be (desired state, config, policy) for the agents of one host,
//   answered to a sync request and pushed on every change;
// - requests a supervisor makes (credentials, a config rollback) and the control plane makes of
//   a supervisor (apply a config now, rescan the packages).
import { z } from 'zod';
import { DESIRED_STATES, HEALTH_STATES, PROCESS_STATES, RECOVERY_STATES } from '../domain/statuses.js';
import { AGENT_ID_PATTERN } from '../domain/identifiers.js';

/** Host ids are one NATS subject token and a KV key: letters, digits, `_` and `-`. */
export const HOST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const HostId = z.string().regex(HOST_ID_PATTERN, 'a host id is 1 to 64 letters, digits, _ or - (starting with a letter or digit)');
export const AgentId = z.string().regex(AGENT_ID_PATTERN);

export const OBSERVATIONS_STREAM = 'OPMAS_OBSERVATIONS';
export const LEASES_BUCKET = 'OPMAS_HOST_LEASES';
export const EPOCHS_BUCKET = 'OPMAS_HOST_EPOCHS';
export const APPLIER_CONSUMER = 'opmas-control';
/** Queue group of the control plane's request handlers: each request is answered by one replica. */
export const CONTROL_QUEUE = 'opmas-control';

const Json = z.record(z.string(), z.unknown());
const Iso = z.string().max(64);

/** Columns a process change may set; times as ISO strings on the wire. */
export const StatusSet = z
  .object({
    pid: z.number().int().nullable(),
    start_time: Iso.nullable(),
    last_error: z.string().max(8192).nullable(),
    exit_code: z.number().int().nullable(),
    exit_signal: z.string().max(16).nullable(),
    config_version: z.number().int().nullable(),
    config_since: Iso.nullable(),
    stable_config_version: z.number().int().nullable(),
    adopted: z.boolean(),
    /** The supervisor's view of the recovery episode (after it closed, say). */
    recovery_state: z.record(z.string(), z.unknown()).nullable(),
  })
  .partial();
export type StatusSet = z.infer<typeof StatusSet>;

export const ProcessChangeWire = z.object({
  to: z.enum(PROCESS_STATES),
  event: z.string().max(50),
  details: Json,
  set: StatusSet.optional(),
});
export type ProcessChangeWire = z.infer<typeof ProcessChangeWire>;

/** What the supervisor's view of the recovery episode is (shown by GET .../recovery). */
export const RecoveryStateWire = z.object({
  in_progress: z.boolean(),
  attempts_made: z.number().int().nonnegative(),
  next_attempt_at: Iso.nullable(),
  exhausted: z.boolean(),
  episode_started_at: Iso.nullable(),
  trigger: z.string().max(50).nullable(),
});
export type RecoveryStateWire = z.infer<typeof RecoveryStateWire>;

const BusEvent = Json.and(z.object({ type: z.string().max(64) }));

export const LogLineWire = z.object({
  agent_id: AgentId,
  level: z.string().max(16),
  message: z.string().max(16 * 1024),
  context: Json.nullable(),
  timestamp: Iso,
  source: z.string().max(16),
});
export type LogLineWire = z.infer<typeof LogLineWire>;

export const SampleWire = z.object({
  agent_id: AgentId,
  t: z.number(),
  values: z.record(z.string(), z.number()),
  thresholds: z.record(z.string(), z.number()).optional(),
});
export type SampleWire = z.infer<typeof SampleWire>;

export const PackageReadingWire = z.object({
  path: z.string().max(255),
  fields: z.record(z.string(), z.string()),
  problems: z.array(z.string()),
  /** Set for a valid package: what the supervisor would run. */
  agent: z
    .object({
      name: z.string(),
      version: z.string(),
      type: z.string(),
      description: z.string().nullable(),
      command: z.string().nullable(),
      subscribed_topics: z.array(z.string()),
      findings_topic: z.string().nullable(),
    })
    .nullable(),
  checksum: z.string().nullable(),
  /** Why the package's command cannot be run on this host, when it cannot. */
  launch_error: z.string().nullable(),
  /** Present but not a package by rule (a dot-folder): why, listed as `ignored`. */
  ignored: z.string().max(500).optional(),
});
export type PackageReadingWire = z.infer<typeof PackageReadingWire>;

/** Each kind of observation and its body. */
export const ObservationBodies = {
  /** First observation of every epoch: who the supervisor is. */
  'host.hello': z.object({
    name: z.string().max(255),
    address: z.string().max(255).nullable(),
    version: z.string().max(64),
    pid: z.number().int(),
    started_at: Iso,
    agents_dir: z.string().max(4096),
  }),
  /** One or more process status changes of one agent, in order (a start: start_requested, process_started). */
  'status.process': z.object({
    agent_id: AgentId,
    changes: z.array(ProcessChangeWire).min(1).max(8),
    /** The credentials the started process uses (public key), so older ones can be revoked. */
    credentials: z.object({ public_key: z.string().max(64), start_id: z.string().max(64) }).optional(),
  }),
  'status.health': z.object({
    agent_id: AgentId,
    to: z.enum(HEALTH_STATES),
    reasons: z.array(Json),
    details: Json,
    /** The newest values the judgement saw (error rate, response time, samples). */
    metrics: z.record(z.string(), z.number()).optional(),
  }),
  'status.recovery': z.object({
    agent_id: AgentId,
    to: z.enum(RECOVERY_STATES),
    event: z.string().max(50),
    details: Json,
    bus_event: BusEvent.optional(),
    state: RecoveryStateWire,
  }),
  'status.note': z.object({
    agent_id: AgentId,
    event: z.string().max(50),
    details: Json,
    set: StatusSet.optional(),
    statuses: z.enum(['process', 'recovery']).optional(),
    bus_event: BusEvent.optional(),
  }),
  'status.columns': z.object({ agent_id: AgentId, set: StatusSet }),
  'recovery.attempt': z.object({
    agent_id: AgentId,
    key: z.string().max(100),
    attempt_number: z.number().int(),
    strategy: z.string().max(50),
    trigger: z.string().max(50),
    started_at: Iso,
    episode_started_at: Iso,
    details: Json,
  }),
  'recovery.attempt_finished': z.object({
    agent_id: AgentId,
    key: z.string().max(100),
    status: z.enum(['succeeded', 'failed', 'cancelled']),
    error: z.string().max(8192).nullable(),
    extra: Json.optional(),
  }),
  /** A runtime config update answered (or not) by the running agent. */
  'config.apply': z.object({
    agent_id: AgentId,
    version: z.number().int(),
    status: z.enum(['applied', 'rejected', 'unanswered']),
    error: z.string().max(8192).nullable(),
  }),
  'metrics.samples': z.object({ samples: z.array(SampleWire).max(5000) }),
  'logs.lines': z.object({ lines: z.array(LogLineWire).max(5000) }),
  /** A whole scan of the host's agents directory: every package folder with its reading. */
  'packages.scan': z.object({
    scan_id: z.string().max(64),
    trigger: z.enum(['start', 'watch', 'api']),
    started_at: Iso,
    finished_at: Iso,
    status: z.enum(['completed', 'failed']),
    error: z.string().nullable(),
    readings: z.array(PackageReadingWire),
  }),
  /** Samples and log lines the journal dropped while NATS was unreachable (they are bounded). */
  'journal.dropped': z.object({ samples: z.number().int(), log_lines: z.number().int(), since: Iso }),
} as const;

export type ObservationKind = keyof typeof ObservationBodies;
export type ObservationBody<K extends ObservationKind> = z.infer<(typeof ObservationBodies)[K]>;
export const OBSERVATION_KINDS = Object.keys(ObservationBodies) as ObservationKind[];

/** Kinds a bounded journal may drop (oldest first) when NATS is away for long; never state. */
export const DROPPABLE_KINDS: ReadonlySet<ObservationKind> = new Set(['metrics.samples', 'logs.lines']);

export interface Observation<K extends ObservationKind = ObservationKind> {
  v: 1;
  host: string;
  epoch: number;
  seq: number;
  /** When the supervisor observed it. */
  at: string;
  kind: K;
  body: ObservationBody<K>;
}

const Envelope = z.object({
  v: z.literal(1),
  host: HostId,
  epoch: z.number().int().positive(),
  seq: z.number().int().positive(),
  at: Iso,
  kind: z.enum(OBSERVATION_KINDS as [ObservationKind, ...ObservationKind[]]),
  body: z.unknown(),
});

/** Parses an observation; throws a readable Error naming what is wrong. */
export function parseObservation(raw: unknown): Observation {
  const env = Envelope.safeParse(raw);
  if (!env.success) throw new Error(`not an observation: ${env.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const body = ObservationBodies[env.data.kind].safeParse(env.data.body);
  if (!body.success) throw new Error(`observation ${env.data.kind}: ${body.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  return { ...env.data, body: body.data } as Observation;
}

/** The message id JetStream deduplicates on: one per (host, epoch, seq). */
export const observationMsgId = (o: Pick<Observation, 'host' | 'epoch' | 'seq'>) => `${o.host}:${o.epoch}:${o.seq}`;

// --- What should be ---------------------------------------------------------------------------

const Policy = z.object({
  auto_recovery: z.boolean(),
  max_retries: z.number(),
  retry_delay: z.number(),
  backoff_factor: z.number(),
  max_backoff: z.number(),
  recovery_timeout: z.number(),
  escalation_threshold: z.number(),
  jitter: z.number(),
  stable_after: z.number(),
  notification_channels: z.array(z.string()),
});

/** The last operator action on the agent, for the cause of what the supervisor does about it. */
export const Intent = z.object({
  action: z.enum(['start', 'stop', 'restart', 'recover']),
  actor: z.string().max(255),
  correlation_id: z.string().max(128).nullable(),
  at: Iso,
});
export type Intent = z.infer<typeof Intent>;

export const AgentSpec = z.object({
  agent_id: AgentId,
  name: z.string(),
  type: z.string(),
  version: z.string(),
  /** The package folder under the host's agents directory; null when it is gone. */
  package_path: z.string().nullable(),
  desired_state: z.enum(DESIRED_STATES),
  /** Recovery is exhausted: not started again until an operator acts or the config/package changes. */
  held: z.boolean(),
  disabled: z.boolean(),
  restart_generation: z.number().int(),
  recover_generation: z.number().int(),
  intent: Intent.nullable(),
  config: Json,
  config_version: z.number().int(),
  policy: Policy,
  grant: z.object({ subscribed_topics: z.array(z.string()), findings_topic: z.string().nullable() }),
  /** The control plane's record of the agent's status (what the supervisor starts from when it knows nothing better). */
  status: z.object({
    process_status: z.enum(PROCESS_STATES),
    health_status: z.enum(HEALTH_STATES),
    recovery_status: z.enum(RECOVERY_STATES),
    pid: z.number().int().nullable(),
    start_time: Iso.nullable(),
    config_version: z.number().int().nullable(),
    config_since: Iso.nullable(),
    stable_config_version: z.number().int().nullable(),
    last_heartbeat: Iso.nullable(),
  }),
});
export type AgentSpec = z.infer<typeof AgentSpec>;

export const SyncRequest = z.object({ epoch: z.number().int(), cursor: z.string().max(200).nullable() });
export const SyncReply = z.object({
  agents: z.array(AgentSpec),
  next_cursor: z.string().nullable(),
  /** Fleet-wide settings the supervisor needs. */
  settings: z.object({ metrics_interval: z.number().nullable(), reconcile_interval: z.number().nullable() }),
  generated_at: Iso,
});
export type SyncReply = z.infer<typeof SyncReply>;

/** Pushed after a change commits: the new specs of some agents, or that an agent is gone. */
export const SpecPush = z.object({
  agents: z.array(AgentSpec),
  removed: z.array(AgentId),
  /** Something fleet-wide changed: sync everything now. */
  resync: z.boolean().optional(),
});
export type SpecPush = z.infer<typeof SpecPush>;

export const CredsRequest = z.object({ agent_id: AgentId, epoch: z.number().int(), start_id: z.string().max(64) });
export const CredsReply = z.object({ creds: z.string(), public_key: z.string(), url: z.string().nullable() });
export type CredsReply = z.infer<typeof CredsReply>;

export const RollbackRequest = z.object({ agent_id: AgentId, epoch: z.number().int(), to_version: z.number().int(), from_version: z.number().int(), reason: z.string().max(2000) });
export const RollbackReply = z.object({ version: z.number().int(), config: Json, diff: Json });
export type RollbackReply = z.infer<typeof RollbackReply>;

/** Errors of a request answered by the other side: `{error: {code, message}}`. */
export const ErrorReply = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const ApplyRequest = z.object({ agent_id: AgentId, version: z.number().int() });
export const ApplyReply = z.object({
  status: z.enum(['applied', 'rejected', 'unanswered', 'not_running']),
  error: z.string().optional(),
  running_version: z.number().int().nullable().optional(),
});
export type ApplyReply = z.infer<typeof ApplyReply>;

export const RescanRequest = z.object({ trigger: z.enum(['api']) });
export const RescanReply = z.object({ scan_id: z.string(), total: z.number().int().nullable() });
