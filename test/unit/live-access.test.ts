// Live stream access rules as pure functions: permission per event family, agent binding,
// filters, origins, token and subprotocol selection.
import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { matchesFilter, mayRead, parseFilterInput, readsAnything, requiredPermission, typeMatches } from '../../server/live/access.js';
import { originAllowed, selectProtocol, tokenOf } from '../../server/live/stream.js';
import { BUILTIN_ROLES, type Permission } from '../../server/security/permissions.js';

const reader = (role: string, agentId?: string) => ({ permissions: new Set<Permission>(BUILTIN_ROLES[role].permissions), agentId });
const A = 'security-a';
const B = 'security-b';

describe('permissions per event family', () => {
  it('maps each family to the permission of its REST counterpart, and unknown types to none', () => {
    expect(requiredPermission('status.changed')).toBe('agents:read');
    expect(requiredPermission('recovery.attempt')).toBe('agents:read');
    expect(requiredPermission('config.rolled_back')).toBe('config:read');
    expect(requiredPermission('metrics.sample')).toBe('metrics:read');
    expect(requiredPermission('log.line')).toBe('logs:read');
    expect(requiredPermission('alert.raised')).toBe('alerts:read');
    expect(requiredPermission('package.scan.completed')).toBe('packages:read');
    expect(requiredPermission('status.changedx')).toBeUndefined();
    expect(requiredPermission('secret.thing')).toBeUndefined();
  });

  it('a role without a permission does not read that family; agent-bound principals read only their agent', () => {
    const custom = { permissions: new Set<Permission>(['agents:read']) };
    expect(mayRead(custom, { type: 'status.changed', agent_id: A })).toBe(true);
    expect(mayRead(custom, { type: 'log.line', agent_id: A })).toBe(false);
    expect(mayRead(custom, { type: 'alert.raised', agent_id: A })).toBe(false);
    const bound = reader('agent', A);
    expect(mayRead(bound, { type: 'status.changed', agent_id: A })).toBe(true);
    expect(mayRead(bound, { type: 'status.changed', agent_id: B })).toBe(false);
    expect(mayRead(bound, { type: 'log.line', agent_id: A })).toBe(true);
    expect(mayRead(bound, { type: 'alert.raised', agent_id: A })).toBe(false); // the agent role has no alerts:read
    expect(mayRead(bound, { type: 'package.scan.completed' })).toBe(false);
    expect(readsAnything({ permissions: new Set<Permission>(['users:admin']) })).toBe(false);
    expect(readsAnything(reader('read-only'))).toBe(true);
  });
});

describe('filters', () => {
  it('type entries match the type or its family', () => {
    expect(typeMatches('recovery.', 'recovery.attempt')).toBe(true);
    expect(typeMatches('recovery.*', 'recovery.attempt')).toBe(true);
    expect(typeMatches('recovery', 'recovery.attempt')).toBe(true);
    expect(typeMatches('recovery', 'recoveryx.attempt')).toBe(false);
    expect(typeMatches('alert.raised', 'alert.raised')).toBe(true);
    expect(typeMatches('alert.raised', 'alert.resolved')).toBe(false);
  });

  it('agent filters drop events about other agents and about none', () => {
    const f = { agentIds: new Set([A]), types: ['status.', 'alert.'] };
    expect(matchesFilter(f, { type: 'status.changed', agent_id: A })).toBe(true);
    expect(matchesFilter(f, { type: 'status.changed', agent_id: B })).toBe(false);
    expect(matchesFilter(f, { type: 'package.scan.completed' })).toBe(false);
    expect(matchesFilter(f, { type: 'log.line', agent_id: A })).toBe(false);
  });

  it('parses input: comma strings or lists; null or empty clears; bad entries are named', () => {
    expect(parseFilterInput({ agent_ids: `${A},${B}`, types: ['recovery.', 'alert.raised'] })).toEqual({ agentIds: new Set([A, B]), types: ['recovery.', 'alert.raised'] });
    expect(parseFilterInput({ agent_ids: null, types: [] })).toEqual({ agentIds: null, types: null });
    expect(parseFilterInput({})).toEqual({});
    expect(parseFilterInput({ types: ['Bad Type'] })).toEqual({ error: 'types: "Bad Type" is not valid' });
    expect(parseFilterInput({ agent_ids: 5 })).toEqual({ error: 'agent_ids must be a list of strings' });
    expect('error' in parseFilterInput({ types: Array.from({ length: 101 }, () => 'a') })).toBe(true);
  });
});

describe('handshake', () => {
  it('origins: none (not a browser), same origin, the allow-list and the desktop console', () => {
    expect(originAllowed(undefined, '127.0.0.1:8470', false, [])).toBe(true);
    expect(originAllowed('http://127.0.0.1:8470', '127.0.0.1:8470', false, [])).toBe(true);
    expect(originAllowed('https://127.0.0.1:8470', '127.0.0.1:8470', false, [])).toBe(false);
    expect(originAllowed('http://evil.example', '127.0.0.1:8470', false, [])).toBe(false);
    expect(originAllowed('http://evil.example', '127.0.0.1:8470', false, ['http://evil.example'])).toBe(true);
    expect(originAllowed('opmas://console', '127.0.0.1:8470', false, [])).toBe(true);
    expect(originAllowed('null', '127.0.0.1:8470', false, [])).toBe(false);
  });

  it('the token comes from the header, else the bearer subprotocol; opmas.v1 is selected when offered', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;
    expect(tokenOf(req({ authorization: 'Bearer abc.def' }))).toBe('abc.def');
    expect(tokenOf(req({ 'sec-websocket-protocol': 'opmas.v1, bearer.xyz' }))).toBe('xyz');
    expect(tokenOf(req({}))).toBeUndefined();
    expect(selectProtocol(new Set(['bearer.xyz', 'opmas.v1']))).toBe('opmas.v1');
    expect(selectProtocol(new Set(['bearer.xyz']))).toBe('bearer.xyz');
    expect(selectProtocol(new Set(['other']))).toBe(false);
  });
});
