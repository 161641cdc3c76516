// Consumes what every agent publishes about itself (heartbeat, status, metrics, logs): each
// valid message goes to a callback; malformed ones are dropped, counted by reason and logged at
// most once per agent per minute. Nothing an agent sends can make it throw.
import type { Logger } from 'pino';
import type { z } from 'zod';
import { HeartbeatBody, LogBody, MAX_AGENT_MESSAGE_BYTES, MetricsBody, StatusBody } from './protocol.js';
import { AGENT_MESSAGE_KINDS, type AgentMessageKind, parseAgentSubject, subjects } from './subjects.js';

export interface AgentMessage<T> {
  agentId: string;
  kind: AgentMessageKind;
  subject: string;
  body: T;
  receivedAt: Date;
}

export interface AgentMessageHandlers {
  heartbeat?(m: AgentMessage<HeartbeatBody>): void | Promise<void>;
  status?(m: AgentMessage<StatusBody>): void | Promise<void>;
  metrics?(m: AgentMessage<MetricsBody>): void | Promise<void>;
  logs?(m: AgentMessage<LogBody>): void | Promise<void>;
}

export const DROP_REASONS = ['bad_subject', 'too_large', 'bad_json', 'bad_shape', 'agent_mismatch', 'handler_failed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface ConsumerCounters {
  accepted: Record<AgentMessageKind, number>;
  dropped: Record<DropReason, number>;
}

/** The part of the broker connection the consumer needs. */
export interface MessageSource {
  subscribe(subject: string, handler: (msg: { subject: string; data: Uint8Array }) => void, opts?: { queue?: string }): () => void;
}

export interface AgentMessageConsumerDeps {
  source: MessageSource;
  logger: Logger;
  handlers: AgentMessageHandlers;
  now?: () => number;
  /** Per agent, at most one log line about dropped messages in this window. */
  logIntervalMs?: number;
  /** Queue group: with several API replicas, each message is handled by one of them. */
  queue?: string;
}

const SCHEMAS: Record<AgentMessageKind, z.ZodType> = { heartbeat: HeartbeatBody, status: StatusBody, metrics: MetricsBody, logs: LogBody };
const MAX_LOG_KEYS = 10_000;

export type AgentMessageConsumer = ReturnType<typeof createAgentMessageConsumer>;

export function createAgentMessageConsumer(deps: AgentMessageConsumerDeps) {
  const now = deps.now ?? Date.now;
  const logIntervalMs = deps.logIntervalMs ?? 60_000;
  const counters: ConsumerCounters = {
    accepted: Object.fromEntries(AGENT_MESSAGE_KINDS.map((k) => [k, 0])) as ConsumerCounters['accepted'],
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as ConsumerCounters['dropped'],
  };
  const lastLogged = new Map<string, number>();
  const unsubscribers: Array<() => void> = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });

  function drop(reason: DropReason, subject: string, agentKey: string, detail: string): void {
    counters.dropped[reason] += 1;
    const t = now();
    const previous = lastLogged.get(agentKey);
    if (previous !== undefined && t - previous < logIntervalMs) return;
    if (lastLogged.size >= MAX_LOG_KEYS) {
      for (const [key, at] of lastLogged) if (t - at >= logIntervalMs) lastLogged.delete(key);
      if (lastLogged.size >= MAX_LOG_KEYS) return; // a flood of distinct senders: stay quiet rather than grow
    }
    lastLogged.set(agentKey, t);
    deps.logger.warn({ agent: agentKey, subject: subject.slice(0, 200), reason, detail: detail.slice(0, 300) }, 'dropped a malformed agent message (further ones from this agent are not logged for a minute)');
  }

  /** Validates one message and hands it on. Exposed for tests; subscriptions call it too. */
  function handle(subject: string, data: Uint8Array): void {
    try {
      const parsed = parseAgentSubject(subject);
      const agentKey = parsed?.agentId ?? `subject:${subject.split('.')[2] ?? '?'}`.slice(0, 80);
      if (!parsed || parsed.kind === 'control') return drop('bad_subject', subject, agentKey, 'not an agent message subject');
      const { agentId, kind } = parsed;
      if (data.byteLength > MAX_AGENT_MESSAGE_BYTES) return drop('too_large', subject, agentId, `${data.byteLength} bytes`);
      let json: unknown;
      try {
        json = JSON.parse(decoder.decode(data));
      } catch (err) {
        return drop('bad_json', subject, agentId, (err as Error).message);
      }
      const result = SCHEMAS[kind].safeParse(json);
      if (!result.success) {
        const detail = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return drop('bad_shape', subject, agentId, detail);
      }
      const body = result.data as { agent_id?: string };
      if (body.agent_id !== undefined && body.agent_id !== agentId) {
        return drop('agent_mismatch', subject, agentId, 'agent_id in the body differs from the subject');
      }
      const handler = deps.handlers[kind] as ((m: AgentMessage<unknown>) => void | Promise<void>) | undefined;
      counters.accepted[kind] += 1;
      if (!handler) return;
      const message: AgentMessage<unknown> = { agentId, kind, subject, body, receivedAt: new Date(now()) };
      const out = handler(message);
      if (out && typeof (out as Promise<void>).then === 'function') {
        (out as Promise<void>).catch((err: unknown) => drop('handler_failed', subject, agentId, errorText(err)));
      }
    } catch (err) {
      // A throwing handler, or anything unforeseen: count it and carry on.
      try {
        drop('handler_failed', subject, parseAgentSubject(subject)?.agentId ?? 'unknown', errorText(err));
      } catch {
        // never throw out of a message callback
      }
    }
  }

  return {
    start(): void {
      if (unsubscribers.length > 0) return;
      for (const kind of AGENT_MESSAGE_KINDS) {
        unsubscribers.push(deps.source.subscribe(subjects.everyAgent[kind], (msg) => handle(msg.subject, msg.data), deps.queue ? { queue: deps.queue } : {}));
      }
    },
    stop(): void {
      for (const u of unsubscribers.splice(0)) u();
    },
    handle,
    /** A snapshot of the counters (prom-client will read these later). */
    counters(): ConsumerCounters {
      return { accepted: { ...counters.accepted }, dropped: { ...counters.dropped } };
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
