// Request and response schemas of /agents: validation, OpenAPI and the console's types.
import semver from 'semver';
import { z } from 'zod';
import { AGENT_ID_PATTERN, AGENT_NAME_PATTERN, AGENT_TYPE_MAX, AGENT_TYPE_PATTERN, natsSubjectProblem } from '../../domain/identifiers.js';
import { pageOf, paginationQuery, repeated } from '../common.js';
import { reservedTopicProblem } from '../../broker/subjects.js';

export { PROCESS_STATES as PROCESS_STATUSES, HEALTH_STATES as HEALTH_STATUSES, RECOVERY_STATES as RECOVERY_STATUSES } from '../../domain/statuses.js';
import { PROCESS_STATES as PROCESS_STATUSES, HEALTH_STATES as HEALTH_STATUSES, RECOVERY_STATES as RECOVERY_STATUSES, DESIRED_STATES } from '../../domain/statuses.js';

export const AgentName = z.string().regex(AGENT_NAME_PATTERN, 'must start with a letter and hold only letters, digits, _ or - (at most 64)');
export const AgentVersion = z.string().max(64).refine((v) => semver.valid(v) !== null, 'must be a semantic version such as 1.0.0');
export const AgentType = z.string().max(AGENT_TYPE_MAX).regex(AGENT_TYPE_PATTERN, 'must be a lower-case slug such as "security" or "wifi-scan"');
export const AgentId = z.string().max(128).regex(AGENT_ID_PATTERN, 'must be an agent ID: {agent_type}-{uuid v4}');

const subject = (wildcards: boolean) =>
  z.string().superRefine((s, ctx) => {
    const problem = natsSubjectProblem(s, wildcards);
    if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid NATS subject: it ${problem}` });
    else {
      const reserved = reservedTopicProblem(s);
      if (reserved) ctx.addIssue({ code: 'custom', message: `is not allowed as an agent topic: it ${reserved}` });
    }
  });
export const SubscribedTopics = z.array(subject(true)).max(100);
export const FindingsTopic = subject(false);

export const LABEL_KEY_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
export const Labels = z
  .record(z.string().regex(LABEL_KEY_PATTERN, 'label keys are 1-63 letters, digits, ., _, / or -'), z.string().max(128))
  .refine((l) => Object.keys(l).length <= 32, 'at most 32 labels');

export const CreateAgentBody = z
  .strictObject({
    agent_name: AgentName,
    agent_version: AgentVersion,
    agent_type: AgentType,
    description: z.string().max(2000).nullable().optional(),
    subscribed_topics: SubscribedTopics.optional(),
    findings_topic: FindingsTopic.nullable().optional(),
    labels: Labels.optional(),
    discovery_token: z.string().min(1).max(200).optional().describe('One-time token: registers without a bearer token and answers NATS credentials'),
  })
  .meta({ id: 'CreateAgent' });

export const UpdateAgentBody = z
  .strictObject({
    agent_version: AgentVersion.optional(),
    description: z.string().max(2000).nullable().optional(),
    subscribed_topics: SubscribedTopics.optional(),
    findings_topic: FindingsTopic.nullable().optional(),
    labels: Labels.optional(),
    disabled: z.boolean().optional().describe("A disabled agent's NATS credentials are revoked and it is not started"),
    // Present only so that an attempt to change them is named in the error rather than ignored.
    agent_name: z.never({ error: 'cannot be changed; register a new agent instead' }).optional(),
    agent_type: z.never({ error: 'cannot be changed; it is part of the agent ID' }).optional(),
  })
  .meta({ id: 'UpdateAgent' });

export const AgentSchema = z
  .object({
    id: z.string(),
    agent_id: z.string(),
    agent_name: z.string(),
    agent_version: z.string(),
    agent_type: z.string(),
    description: z.string().nullable(),
    subscribed_topics: z.array(z.string()),
    findings_topic: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    disabled: z.boolean(),
    desired_state: z.enum(DESIRED_STATES).describe('What should be: written only by intent (an operator, autostart at registration, disable/delete, package removal)'),
    held: z.boolean().describe('Recovery is spent: the agent should run but is not started again until an operator acts or its configuration or package changes'),
    held_reason: z.string().nullable(),
    host_id: z.string().nullable().describe('The host whose supervisor runs the agent; null for agents that run on their own'),
    status: z.enum(PROCESS_STATUSES),
    health: z.enum(HEALTH_STATUSES),
    recovery: z.enum(RECOVERY_STATUSES),
    pid: z.number().int().nullable(),
    start_time: z.string().nullable(),
    last_heartbeat: z.string().nullable(),
    last_error: z.string().nullable(),
    reported_status: z.string().nullable().describe("The status word of the agent's latest heartbeat or status message, as sent"),
    reported_status_known: z
      .boolean()
      .nullable()
      .describe('Whether reported_status is a word the protocol defines (ready, degraded, stopping); a heartbeat with another word still counts as alive. Null when nothing was reported'),
    uptime_s: z.number().nullable().describe('Uptime the agent reported in its last heartbeat'),
    restart_count: z.number().int().describe('Process starts after the first one (operator restarts and recoveries alike)'),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Agent' });

export const AgentPage = pageOf(AgentSchema, 'AgentPage');

export const RegisteredAgentSchema = AgentSchema.extend({
  nats: z.object({ url: z.string(), creds: z.string().describe('The NATS .creds file body: user JWT and seed; shown once') }).nullable(),
}).meta({ id: 'RegisteredAgent' });

const LabelSelector = z.string().regex(/^[^:]+:.*$/, 'must be key:value').transform((s) => {
  const at = s.indexOf(':');
  return [s.slice(0, at), s.slice(at + 1)] as const;
});

export const ListAgentsQuery = z.object({
  ...paginationQuery,
  type: AgentType.optional(),
  status: z.enum(PROCESS_STATUSES).optional(),
  health: z.enum(HEALTH_STATUSES).optional(),
  host_id: z.string().max(64).optional().describe('Only the agents of this host'),
  desired_state: z.enum(DESIRED_STATES).optional(),
  q: z.string().min(1).max(100).optional().describe('Substring of the agent name, case-insensitive'),
  label: repeated(LabelSelector).describe('key:value; repeat to require several labels'),
});

export const AgentIdParams = z.object({ id: z.string().max(200) });

/** The answer of start/stop/restart: the agent, and whether its host can act on it now. */
export const LifecycleAcceptedSchema = AgentSchema.extend({
  host_status: z.enum(['up', 'down', 'unknown']).nullable().describe('Whether the agent\'s host is up; the host acts when it is back'),
}).meta({ id: 'LifecycleAccepted' });
