// The SDK's reading of a package's .env.discovery defaults, and how the AMS finds the SDK bundle.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDiscoveryFile, readPackageDefaults } from '../../server/agent-sdk/discovery.js';
import { locateAgentSdk } from '../../server/agent-sdk/locate.js';

describe('.env.discovery defaults', () => {
  it('reads the format of DESIGN.md, with inline comments and quotes', () => {
    const text = [
      '# a package',
      'AGENT_NAME=SecurityAgent            # required',
      'AGENT_VERSION="1.0.0"',
      "AGENT_DESCRIPTION='Security # not a comment'",
      'DEFAULT_SUBSCRIBED_TOPICS=logs.security,logs.auth   # comma-separated',
      'export DEFAULT_FINDINGS_TOPIC=findings.security',
      'not a line',
    ].join('\n');
    expect(parseDiscoveryFile(text)).toEqual({
      AGENT_NAME: 'SecurityAgent',
      AGENT_VERSION: '1.0.0',
      AGENT_DESCRIPTION: 'Security # not a comment',
      DEFAULT_SUBSCRIBED_TOPICS: 'logs.security,logs.auth',
      DEFAULT_FINDINGS_TOPIC: 'findings.security',
    });
  });

  it('gives the sample packages their topics', () => {
    const root = path.resolve(import.meta.dirname, '../../resources/agents');
    expect(readPackageDefaults(path.join(root, 'security'))).toEqual({ name: 'SecurityAgent', version: '1.0.0', topics: ['logs.security', 'logs.auth'], findingsTopic: 'findings.security' });
    expect(readPackageDefaults(path.join(root, 'wifi'))).toMatchObject({ topics: ['logs.wifi'], findingsTopic: 'findings.wifi' });
    expect(readPackageDefaults(path.join(root, 'missing'))).toEqual({ topics: [] });
  });
});

describe('locating the SDK bundle', () => {
  it('prefers OPMAS_AGENT_SDK, then the copy next to the built server, and prefers app.asar.unpacked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-locate-'));
    try {
      const explicit = path.join(dir, 'explicit.mjs');
      fs.writeFileSync(explicit, '');
      const app = path.join(dir, 'resources', 'app.asar');
      const unpacked = path.join(dir, 'resources', 'app.asar.unpacked', 'out', 'agent-sdk', 'index.mjs');
      fs.mkdirSync(path.dirname(unpacked), { recursive: true });
      fs.writeFileSync(unpacked, '');
      const serverDir = path.join(app, 'out', 'main');
      expect(locateAgentSdk({ OPMAS_AGENT_SDK: explicit }, serverDir)).toBe(explicit);
      expect(locateAgentSdk({}, serverDir)).toBe(unpacked);
      expect(locateAgentSdk({}, path.join(dir, 'nowhere', 'x'))).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
