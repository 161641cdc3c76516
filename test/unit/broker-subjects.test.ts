// The subject map, topic rules and agent permissions: pure functions with a large input space.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newAgentId } from '../../server/domain/identifiers.js';
import { agentIdFromSubject, parseAgentSubject, reservedTopicProblem, subjects } from '../../server/broker/subjects.js';
import { agentPermissions, amsPermissions } from '../../server/broker/credentials.js';

describe('subject map', () => {
  it('builds every subject of an agent under its own ID', () => {
    const id = 'security-550e8400-e29b-41d4-a716-446655440000';
    expect(subjects.agent(id)).toEqual({
      heartbeat: `opmas.agents.${id}.heartbeat`,
      status: `opmas.agents.${id}.status`,
      metrics: `opmas.agents.${id}.metrics`,
      logs: `opmas.agents.${id}.logs`,
      control: `opmas.agents.${id}.control`,
      all: `opmas.agents.${id}.>`,
      inboxPrefix: `_INBOX.${id}`,
      inbox: `_INBOX.${id}.>`,
    });
    expect(subjects.everyAgent.heartbeat).toBe('opmas.agents.*.heartbeat');
  });

  it('refuses to build subjects for something that is not an agent ID', () => {
    for (const bad of ['', 'security', 'security-*', 'a.b-550e8400-e29b-41d4-a716-446655440000', '>']) {
      expect(() => subjects.agent(bad), bad).toThrow(TypeError);
    }
  });

  it('parses back what it builds, for any agent ID', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,5}){0,2}$/), fc.constantFrom('heartbeat', 'status', 'metrics', 'logs', 'control'), (type, kind) => {
        const id = newAgentId(type);
        const subject = subjects.agent(id)[kind as 'heartbeat'];
        expect(parseAgentSubject(subject)).toEqual({ agentId: id, kind });
        expect(agentIdFromSubject(subject)).toBe(id);
      }),
    );
  });

  it('returns undefined for subjects that are not agent messages', () => {
    const id = newAgentId('wifi');
    for (const s of ['opmas.agents', `opmas.agents.${id}`, `opmas.agents.${id}.other`, `opmas.agents.${id}.heartbeat.x`, 'opmas.agents.nope.heartbeat', `x.agents.${id}.heartbeat`, '']) {
      expect(parseAgentSubject(s), s).toBeUndefined();
    }
  });

  it('keeps agent topics out of reserved namespaces', () => {
    for (const t of ['>', '*', '*.agents.x', 'opmas', 'opmas.agents.>', 'opmas.x', '_INBOX', '_INBOX.>', '$SYS.REQ.>', '$JS.API.>']) {
      expect(reservedTopicProblem(t), t).toBeDefined();
    }
    for (const t of ['logs.auth', 'logs.*', 'logs.>', 'findings.security', 'opmasx.y']) {
      expect(reservedTopicProblem(t), t).toBeUndefined();
    }
  });
});

describe('permissions', () => {
  it('scope an agent to its own subjects, its topics and its inbox, and let it answer requests', () => {
    const id = newAgentId('security');
    expect(agentPermissions({ agentId: id, subscribedTopics: ['logs.auth', 'logs.auth', 'logs.security'], findingsTopic: 'findings.security' })).toEqual({
      pub: { allow: [`opmas.agents.${id}.>`, 'findings.security'], deny: [`opmas.agents.${id}.control`] },
      sub: { allow: [`opmas.agents.${id}.control`, `_INBOX.${id}.>`, 'logs.auth', 'logs.security'] },
      resp: { max: 1, ttl: 0 },
    });
  });

  it('name every bad topic', () => {
    const id = newAgentId('security');
    try {
      agentPermissions({ agentId: id, subscribedTopics: ['ok.topic', 'opmas.>', 'a..b'], findingsTopic: 'f.>' });
      expect.unreachable();
    } catch (err) {
      expect((err as { issues: Array<{ path: string }> }).issues.map((i) => i.path)).toEqual(['subscribed_topics.1', 'subscribed_topics.2', 'findings_topic']);
    }
  });

  it('let the AMS hear every agent and send control requests, but not speak as an agent', () => {
    const p = amsPermissions();
    expect(p.sub.allow).toContain('opmas.agents.>');
    expect(p.pub.allow).toContain('opmas.agents.*.control');
    expect(p.pub.allow).not.toContain('opmas.agents.>');
  });
});
