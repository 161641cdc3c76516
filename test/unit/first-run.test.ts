// The first run's pure parts: the agents directory with the sample agents copied in (and an
// existing one left alone), the .env.discovery example the console shows, the startup block
// and its JSON twin, the log format choice, and the release workflow's schema check.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_DISCOVERY_EXAMPLE, locateSampleAgents, prepareAgentsDirectory } from '../../server/agents-directory.js';
import { readPackage } from '../../server/scanner/package-reader.js';
import { safeDbUrl, setupTokenBlock, startupBlock, type StartupFacts, startupLogFields } from '../../server/startup-report.js';
import { pickLogFormat } from '../../server/logger.js';
import { parseSettings, SettingsError } from '../../server/settings.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const SAMPLES = path.join(REPO, 'resources/agents');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-first-run-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('the agents directory on first run', () => {
  it('is created with every sample package when it does not exist', () => {
    const dir = path.join(work, 'a', 'agents');
    const report = prepareAgentsDirectory(dir, SAMPLES);
    expect(report).toMatchObject({ path: dir, created: true, samplesCopied: ['security', 'wifi'], samplesFrom: SAMPLES });
    for (const name of ['security', 'wifi']) {
      expect(fs.readFileSync(path.join(dir, name, '.env.discovery'), 'utf8')).toBe(fs.readFileSync(path.join(SAMPLES, name, '.env.discovery'), 'utf8'));
      expect(readPackage(dir, name).problems).toEqual([]);
    }
    // No staging folder is left beside it.
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['agents']);
  });

  it('leaves an existing directory alone, even an empty one, and removes a staging folder a killed start left', () => {
    const parent = path.join(work, 'b');
    const dir = path.join(parent, 'agents');
    fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(parent, '.opmas-agents-staging-agents-12345', 'security'), { recursive: true });
    expect(prepareAgentsDirectory(dir, SAMPLES)).toEqual({ path: dir, created: false, samplesCopied: [] });
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.readdirSync(parent)).toEqual(['agents']);
  });

  it('is created empty, with the reason, when the samples cannot be copied', () => {
    const dir = path.join(work, 'd', 'agents');
    const samples = path.join(work, 'unreadable-samples');
    fs.mkdirSync(path.join(samples, 'broken'), { recursive: true });
    fs.writeFileSync(path.join(samples, 'broken', '.env.discovery'), 'AGENT_NAME=Broken\n');
    // Node refuses to copy a named pipe: the copy fails halfway, as a broken disk would make it.
    execFileSync('mkfifo', [path.join(samples, 'broken', 'pipe')]);
    const report = prepareAgentsDirectory(dir, samples);
    expect(report.created).toBe(true);
    expect(report.samplesCopied).toEqual([]);
    expect(report.samplesError).toMatch(/FIFO/i);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['agents']);
  });

  it('is created empty when there are no samples to copy', () => {
    const dir = path.join(work, 'c', 'agents');
    expect(prepareAgentsDirectory(dir, undefined)).toEqual({ path: dir, created: true, samplesCopied: [] });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('finds the samples in the resources folder, else in the source tree seen from server/ or out/main/', () => {
    expect(locateSampleAgents(undefined, path.join(REPO, 'server'))).toBe(SAMPLES);
    expect(locateSampleAgents(undefined, path.join(REPO, 'out/main'))).toBe(SAMPLES);
    expect(locateSampleAgents(path.join(REPO, 'resources'), path.join(work, 'nowhere/at/all'))).toBe(SAMPLES);
    expect(locateSampleAgents(path.join(work, 'no-resources'), path.join(work, 'nowhere/at/all'))).toBeUndefined();
  });

  it('shows a .env.discovery example that the scanner accepts', () => {
    const dir = path.join(work, 'example');
    fs.mkdirSync(path.join(dir, 'my-agent'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'my-agent', '.env.discovery'), ENV_DISCOVERY_EXAMPLE);
    fs.writeFileSync(path.join(dir, 'my-agent', 'agent.mjs'), '');
    const reading = readPackage(dir, 'my-agent');
    expect(reading.problems).toEqual([]);
    expect(reading.agent).toMatchObject({ name: 'MyAgent', version: '1.0.0', type: 'custom' });
  });
});

describe('what the terminal shows', () => {
  const facts: StartupFacts = {
    version: '0.1.0',
    url: 'http://127.0.0.1:8470',
    dataDir: '/home/u/.local/share/opmas-console',
    agentsDir: '/home/u/.local/share/opmas-console/agents',
    samplesCopied: ['security', 'wifi'],
    database: { kind: 'postgres', dbUrl: 'postgres://opmas:s3cret-pw@db.example:5432/opmas' },
    broker: { mode: 'host', url: 'nats://127.0.0.1:4222', status: 'ok' },
    consoleServed: true,
  };

  it('names the console URL, data dir, agents dir, database and broker, and never the database password', () => {
    const text = startupBlock(facts).join('\n');
    for (const part of ['http://127.0.0.1:8470/', facts.dataDir, facts.agentsDir, 'security, wifi', 'db.example:5432/opmas', 'nats://127.0.0.1:4222']) expect(text).toContain(part);
    expect(text).not.toContain('s3cret-pw');
    expect(JSON.stringify(startupLogFields(facts))).not.toContain('s3cret-pw');
    expect(startupLogFields(facts)).toMatchObject({ url: facts.url, agentsDir: facts.agentsDir, samplesCopied: ['security', 'wifi'] });
    expect(safeDbUrl('postgres://a:b@h/d')).toBe('postgres://a:***@h/d');
    const down = startupBlock({ ...facts, broker: { mode: 'host', url: null, status: 'down', error: 'nats-server not found' }, consoleServed: false }).join('\n');
    expect(down).toContain('down (nats-server not found)');
    expect(down).toContain('no built console found');
  });

  it('says to open the console and paste the setup token', () => {
    const text = setupTokenBlock('http://127.0.0.1:8470', 'ost_abc').join('\n');
    expect(text).toContain('Open the console at http://127.0.0.1:8470/ and paste this one-time setup token');
    expect(text).toContain('    ost_abc');
  });

  it('logs readable lines on a terminal and JSON otherwise, unless --log-format says', () => {
    expect(pickLogFormat(undefined, true)).toBe('pretty');
    expect(pickLogFormat(undefined, false)).toBe('json');
    expect(pickLogFormat('json', true)).toBe('json');
    expect(pickLogFormat('pretty', false)).toBe('pretty');
    expect(parseSettings(['--log-format', 'JSON'], {}).logFormat).toBe('json');
    expect(parseSettings([], { OPMAS_LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(parseSettings([], {}).logFormat).toBeUndefined();
    expect(() => parseSettings(['--log-format', 'xml'], {})).toThrow(SettingsError);
  });
});

describe('the release workflow', () => {
  const source = fs.readFileSync(path.join(REPO, '.github/workflows/release.yml'), 'utf8');

  it('passes the workflow schema, and a typo fails it', () => {
    expect(validateWorkflow(source).errors).toEqual([]);
    expect(validateWorkflow(source.replace('runs-on: ${{ matrix.os }}', 'runs_on: ${{ matrix.os }}')).errors.length).toBeGreaterThan(0);
    expect(validateWorkflow(source.replace('workflow_dispatch:', 'workflow_dispatc:')).errors.length).toBeGreaterThan(0);
  });

  it('packages on Linux, Windows and macOS and runs the Electron smoke test on each', () => {
    for (const os of ['ubuntu-', 'windows-', 'macos-']) expect(source).toContain(`os: ${os}`);
    for (const target of ['--linux AppImage deb', '--win nsis', '--mac dmg']) expect(source).toContain(target);
    expect(source).toContain('xvfb-run -a npm run test:electron');
    expect(source).toContain('actions/upload-artifact');
  });
});
