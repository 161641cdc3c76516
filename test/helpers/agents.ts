// Runs agent packages as real processes the way the supervisor will: the package's
// AGENT_COMMAND in its folder, with OPMAS_AGENT_ID, OPMAS_NATS_URL, OPMAS_NATS_CREDS (a 0600
// file) and OPMAS_CONFIG, and the SDK bundle the test setup built (OPMAS_AGENT_SDK).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { newAgentId } from '../../server/domain/identifiers.js';
import { parseDiscoveryFile } from '../../server/agent-sdk/discovery.js';
import type { IssuedCredentials } from '../../server/broker/index.js';
import type { TestBroker } from './broker.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const SAMPLE_AGENTS = path.join(REPO_ROOT, 'resources/agents');
export const FIXTURE_AGENTS = path.join(REPO_ROOT, 'test/fixtures/agents');

export interface AgentProcess {
  agentId: string;
  creds: IssuedCredentials;
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnAgentOptions {
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Default: the package's DEFAULT_SUBSCRIBED_TOPICS / DEFAULT_FINDINGS_TOPIC. */
  topics?: string[];
  findingsTopic?: string;
  url?: string;
}

const running = new Set<ChildProcess>();

export async function spawnAgent(tb: TestBroker, packageDir: string, opts: SpawnAgentOptions = {}): Promise<AgentProcess> {
  const discovery = parseDiscoveryFile(fs.readFileSync(path.join(packageDir, '.env.discovery'), 'utf8'));
  const agentId = newAgentId(discovery.AGENT_TYPE || 'test');
  const topics = opts.topics ?? (discovery.DEFAULT_SUBSCRIBED_TOPICS ?? '').split(',').filter(Boolean);
  const creds = await tb.broker.issuer.issueAgent({ agentId, subscribedTopics: topics, findingsTopic: opts.findingsTopic ?? discovery.DEFAULT_FINDINGS_TOPIC });
  const credsDir = path.join(tb.dataDir, 'agent-creds');
  fs.mkdirSync(credsDir, { recursive: true, mode: 0o700 });
  const credsFile = path.join(credsDir, `${agentId}.creds`);
  fs.writeFileSync(credsFile, creds.creds, { mode: 0o600 });

  const [command, ...args] = (discovery.AGENT_COMMAND || 'node agent.mjs').split(/\s+/);
  const child = spawn(command === 'node' ? process.execPath : command, args, {
    cwd: packageDir,
    env: {
      PATH: process.env.PATH,
      OPMAS_AGENT_ID: agentId,
      OPMAS_NATS_URL: opts.url ?? tb.url,
      OPMAS_NATS_CREDS: credsFile,
      OPMAS_CONFIG: JSON.stringify({ heartbeat_interval: 30, log_level: 'INFO', metrics_enabled: true, ...opts.config }),
      OPMAS_AGENT_SDK: inject('agentSdk'),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { agentId, creds, child, stderr: () => stderr, exited, kill: (signal = 'SIGKILL') => void child.kill(signal) };
}

/** Kills every agent process a test left running. */
export async function killAllAgents(): Promise<void> {
  const waits = [...running].map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))));
  for (const c of running) c.kill('SIGKILL');
  await Promise.all(waits);
}
