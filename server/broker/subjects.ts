// The one map of NATS subjects the AMS, the agent SDK and the tests use (DESIGN.md, "Agent
// identity and protocol"). No other module builds an `opmas.` or inbox subject by hand.
import { AGENT_ID_PATTERN } from '../domain/identifiers.js';

const AGENTS = 'opmas.agents';
/** Inbox prefix root; each agent gets its own `_INBOX.<id>` so no agent can read another's replies. */
const INBOX = '_INBOX';

export const AGENT_MESSAGE_KINDS = ['heartbeat', 'status', 'metrics', 'logs'] as const;
/** What an agent publishes about itself; `control` is the AMS -> agent request subject. */
export type AgentMessageKind = (typeof AGENT_MESSAGE_KINDS)[number];

export interface AgentSubjects {
  heartbeat: string;
  status: string;
  metrics: string;
  logs: string;
  control: string;
  /** Everything under the agent's own namespace (`opmas.agents.<id>.>`), for permissions. */
  all: string;
  /** The agent's request inbox prefix (the client's `inboxPrefix` option). */
  inboxPrefix: string;
  /** Subscription that covers the agent's inbox (`_INBOX.<id>.>`). */
  inbox: string;
}

const HOSTS = 'opmas.hosts';
const CONTROL = 'opmas.ctl';
const SUPERVISOR = 'opmas.sup';

/** Subjects of one host's supervisor and of the control plane's answers to it. */
export interface HostSubjects {
  /** Observations are published under `opmas.hosts.<host>.obs.<kind>` (JetStream). */
  observation(kind: string): string;
  observations: string;
  /** Requests the supervisor makes of the control plane (answered by one API replica). */
  sync: string;
  creds: string;
  rollback: string;
  /** What the control plane sends the supervisor: spec pushes, apply-now and rescan requests. */
  specs: string;
  apply: string;
  rescan: string;
  /** The control plane saw the host come back after it was down: its agents' health is reported again. */
  resync: string;
  /** Everything the supervisor may subscribe to, and its own request inbox. */
  supervisorAll: string;
  inboxPrefix: string;
  inbox: string;
}

export const subjects = {
  host(hostId: string): HostSubjects {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(hostId)) throw new TypeError(`not a host id: ${JSON.stringify(hostId)}`);
    return {
      observation: (kind: string) => `${HOSTS}.${hostId}.obs.${kind}`,
      observations: `${HOSTS}.${hostId}.obs.>`,
      sync: `${CONTROL}.${hostId}.sync`,
      creds: `${CONTROL}.${hostId}.creds`,
      rollback: `${CONTROL}.${hostId}.rollback`,
      specs: `${SUPERVISOR}.${hostId}.specs`,
      apply: `${SUPERVISOR}.${hostId}.apply`,
      rescan: `${SUPERVISOR}.${hostId}.rescan`,
      resync: `${SUPERVISOR}.${hostId}.resync`,
      supervisorAll: `${SUPERVISOR}.${hostId}.>`,
      inboxPrefix: `${INBOX}.sup.${hostId}`,
      inbox: `${INBOX}.sup.${hostId}.>`,
    };
  },
  /** Every host's observations (the stream's subjects) and every control request (the API's queue subscriptions). */
  everyHost: {
    observations: `${HOSTS}.*.obs.>`,
    sync: `${CONTROL}.*.sync`,
    creds: `${CONTROL}.*.creds`,
    rollback: `${CONTROL}.*.rollback`,
    supervisors: `${SUPERVISOR}.>`,
  },
  agent(id: string): AgentSubjects {
    if (!AGENT_ID_PATTERN.test(id)) throw new TypeError(`not an agent id: ${JSON.stringify(id)}`);
    const base = `${AGENTS}.${id}`;
    return {
      heartbeat: `${base}.heartbeat`,
      status: `${base}.status`,
      metrics: `${base}.metrics`,
      logs: `${base}.logs`,
      control: `${base}.control`,
      all: `${base}.>`,
      inboxPrefix: `${INBOX}.${id}`,
      inbox: `${INBOX}.${id}.>`,
    };
  },
  /** Wildcard subscriptions the AMS uses to hear every agent. */
  everyAgent: {
    heartbeat: `${AGENTS}.*.heartbeat`,
    status: `${AGENTS}.*.status`,
    metrics: `${AGENTS}.*.metrics`,
    logs: `${AGENTS}.*.logs`,
    control: `${AGENTS}.*.control`,
    all: `${AGENTS}.>`,
  },
  /** The AMS's own request inbox, outside every agent's `_INBOX.<id>` space. */
  amsInboxPrefix: `${INBOX}.ams`,
  amsInbox: `${INBOX}.ams.>`,
  /** Prefixes an agent topic must stay out of: the agents' namespace, inboxes, system subjects. */
  reservedPrefixes: ['opmas.', `${INBOX}.`, '$'],
} as const;

export interface ParsedAgentSubject {
  agentId: string;
  kind: AgentMessageKind | 'control';
}

/** The agent ID and message kind of an `opmas.agents.<id>.<kind>` subject, or undefined. */
export function parseAgentSubject(subject: string): ParsedAgentSubject | undefined {
  const tokens = subject.split('.');
  if (tokens.length !== 4 || `${tokens[0]}.${tokens[1]}` !== AGENTS) return undefined;
  const [, , agentId, kind] = tokens;
  if (!AGENT_ID_PATTERN.test(agentId)) return undefined;
  if (kind !== 'control' && !(AGENT_MESSAGE_KINDS as readonly string[]).includes(kind)) return undefined;
  return { agentId, kind: kind as ParsedAgentSubject['kind'] };
}

/** The agent ID in an `opmas.agents.<id>.<kind>` subject, or undefined. */
export function agentIdFromSubject(subject: string): string | undefined {
  return parseAgentSubject(subject)?.agentId;
}

/**
 * Why `topic` may not be given to an agent, or undefined. Besides being a valid subject, a topic
 * must not reach into the agents' namespace, inboxes or system subjects: a subscription to
 * `opmas.>`, `>` or `*.agents.>` would let an agent read other agents' control requests.
 */
export function reservedTopicProblem(topic: string): string | undefined {
  const first = topic.split('.')[0];
  if (first === '>' || first === '*') return 'must start with a literal token (a leading wildcard would match reserved subjects)';
  for (const prefix of subjects.reservedPrefixes) {
    if (topic === prefix.replace(/\.$/, '') || topic.startsWith(prefix)) return `must not be under the reserved ${JSON.stringify(prefix)} namespace`;
  }
  return undefined;
}

/** The host id of a control request subject (`opmas.ctl.<host>.<verb>`), or undefined. */
export function hostIdFromControlSubject(subject: string): string | undefined {
  const t = subject.split('.');
  return t.length === 4 && `${t[0]}.${t[1]}` === CONTROL && /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(t[2]) ? t[2] : undefined;
}
