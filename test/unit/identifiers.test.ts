import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AGENT_ID_PATTERN, agentTypeOfId, defaultAgentType, natsSubjectProblem, newAgentId } from '../../server/domain/identifiers.js';

describe('agent IDs', () => {
  it('are {agent_type}-{uuid v4}', () => {
    const id = newAgentId('security');
    expect(id).toMatch(/^security-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(agentTypeOfId(id)).toBe('security');
    expect(agentTypeOfId(newAgentId('wifi-scan'))).toBe('wifi-scan');
    expect(AGENT_ID_PATTERN.test('security-123')).toBe(false);
  });

  it('are unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newAgentId('t')));
    expect(ids.size).toBe(1000);
  });
});

describe('defaultAgentType', () => {
  it('lower-cases the name without a trailing "agent"', () => {
    expect(defaultAgentType('SecurityAgent')).toBe('security');
    expect(defaultAgentType('WifiScanAgent')).toBe('wifi-scan');
    expect(defaultAgentType('netflow_agent')).toBe('netflow');
    expect(defaultAgentType('Agent')).toBe('agent');
  });
});

describe('natsSubjectProblem', () => {
  it('accepts plain subjects and wildcards where allowed', () => {
    expect(natsSubjectProblem('logs.security', false)).toBeUndefined();
    expect(natsSubjectProblem('logs.*.auth', true)).toBeUndefined();
    expect(natsSubjectProblem('logs.>', true)).toBeUndefined();
  });

  it('rejects empty tokens, whitespace, misplaced and disallowed wildcards', () => {
    expect(natsSubjectProblem('', true)).toMatch(/empty/);
    expect(natsSubjectProblem('a..b', true)).toMatch(/empty token/);
    expect(natsSubjectProblem('.a', true)).toMatch(/empty token/);
    expect(natsSubjectProblem('a b', true)).toMatch(/whitespace/);
    expect(natsSubjectProblem('a.>.b', true)).toMatch(/last/);
    expect(natsSubjectProblem('a.b*', true)).toMatch(/inside a token/);
    expect(natsSubjectProblem('a.*', false)).toMatch(/wildcard/);
  });

  it('never accepts a subject with whitespace or an empty token (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9 ]{0,5}$/), { minLength: 1, maxLength: 5 }), (tokens) => {
        const subject = tokens.join('.');
        const bad = tokens.some((t) => t === '' || t.includes(' '));
        expect(natsSubjectProblem(subject, true) !== undefined).toBe(bad);
      }),
    );
  });
});
