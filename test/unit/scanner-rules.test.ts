import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPackage, validateFields } from '../../server/scanner/package-reader.js';
import { reconcile } from '../../server/scanner/reconcile.js';
import { validPackage, writePackage } from '../helpers/packages.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-pkg-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('validateFields', () => {
  const noExe = () => undefined;
  it('accepts the DESIGN.md example and defaults the type from the name', () => {
    const { agent, problems } = validateFields(
      { AGENT_NAME: 'SecurityAgent', AGENT_VERSION: '1.0.0', AGENT_COMMAND: 'node agent.js', DEFAULT_SUBSCRIBED_TOPICS: 'logs.security,logs.auth', DEFAULT_FINDINGS_TOPIC: 'findings.security' },
      noExe,
    );
    expect(problems).toEqual([]);
    expect(agent).toMatchObject({ name: 'SecurityAgent', type: 'security', subscribed_topics: ['logs.security', 'logs.auth'], command: 'node agent.js' });
  });

  it('reports every problem at once', () => {
    const { agent, problems } = validateFields(
      { AGENT_VERSION: 'v1', DEFAULT_SUBSCRIBED_TOPICS: 'ok.topic,bad topic,a..b', DEFAULT_FINDINGS_TOPIC: 'findings.*' },
      noExe,
    );
    expect(agent).toBeUndefined();
    expect(problems).toEqual([
      'AGENT_NAME is required',
      'AGENT_VERSION "v1" is not a semantic version such as 1.0.0',
      expect.stringContaining('"bad topic"'),
      expect.stringContaining('"a..b"'),
      expect.stringContaining('DEFAULT_FINDINGS_TOPIC'),
      expect.stringContaining('AGENT_COMMAND is missing'),
    ]);
  });

  it('finds a default executable when AGENT_COMMAND is absent', () => {
    const { agent } = validateFields({ AGENT_NAME: 'X', AGENT_VERSION: '1.0.0' }, (f) => (f === 'agent.mjs' ? 'node agent.mjs' : undefined));
    expect(agent?.command).toBe('node agent.mjs');
  });
});

describe('readPackage', () => {
  it('reads a package and never follows links', () => {
    writePackage(dir, 'good', validPackage('Good'));
    expect(readPackage(dir, 'good')).toMatchObject({ problems: [], agent: { name: 'Good', version: '1.0.0' }, checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-outside-'));
    writePackage(outside, 'evil', validPackage('Evil'));
    fs.symlinkSync(path.join(outside, 'evil'), path.join(dir, 'linked'));
    expect(readPackage(dir, 'linked').problems).toEqual([expect.stringContaining('symbolic link')]);
    fs.mkdirSync(path.join(dir, 'filelink'));
    fs.symlinkSync(path.join(outside, 'evil', '.env.discovery'), path.join(dir, 'filelink', '.env.discovery'));
    const fileLink = readPackage(dir, 'filelink');
    expect(fileLink.problems).toEqual([expect.stringContaining('symbolic link')]);
    expect(fileLink.fields).toEqual({});
    expect(readPackage(dir, '..').problems).toEqual(['not a package folder name']);
    expect(readPackage(dir, '../etc').problems).toEqual(['not a package folder name']);
    fs.rmSync(outside, { recursive: true, force: true });
  });
});

describe('reconcile', () => {
  const reading = (p: string, name: string, version: string, type = 'security') => ({
    path: p, fields: {}, problems: [], checksum: null,
    agent: { name, version, type, description: null, command: 'x', subscribed_topics: [], findings_topic: null },
  });

  it('registers new packages and updates compatible versions', () => {
    const d = reconcile([reading('a', 'A', '1.0.0'), reading('b', 'B', '1.3.0')], [{ id: 'security-b', name: 'B', type: 'security', version: '1.2.0' }]);
    expect(d.map((x) => [x.status, x.action])).toEqual([['registered', 'register'], ['registered', 'update']]);
  });

  it('reports an incompatible major version, a type conflict and duplicates', () => {
    const agents = [{ id: 'security-a', name: 'A', type: 'security', version: '1.0.0' }];
    const d = reconcile([reading('a2', 'A', '2.0.0'), reading('w', 'A', '1.5.0', 'wifi'), reading('x1', 'X', '1.0.0'), reading('x2', 'X', '1.0.0')], agents);
    expect(d.map((x) => x.status)).toEqual(['incompatible', 'conflict', 'conflict', 'conflict']);
    expect(d[0].reasons[0]).toContain('registered 1.0.0');
    expect(d[1].reasons[0]).toContain('registered with type "security"');
    expect(d[2].reasons[0]).toContain('also provided by x2');
    expect(d.every((x) => x.action === 'none')).toBe(true);
  });

  it('takes the newest of several compatible versions and marks the others superseded', () => {
    const d = reconcile([reading('old', 'A', '1.0.0'), reading('new', 'A', '1.4.0')], []);
    expect(d.map((x) => [x.status, x.action])).toEqual([['conflict', 'none'], ['registered', 'register']]);
    expect(d[0].reasons[0]).toContain('superseded by A 1.4.0 in new');
  });
});
