// What the supervisor hands an agent process (DESIGN.md): its ID, the broker URL, the path of
// its 0600 `.creds` file and its effective configuration (and a TLS CA when the broker needs
// one), all in the environment.
import fs from 'node:fs';
import { AGENT_ID_PATTERN } from '../domain/identifiers.js';

export type AgentConfig = Record<string, unknown>;

export interface AgentEnvironment {
  agentId: string;
  /** One URL or several separated by commas. */
  natsUrl: string;
  /** The `.creds` file body (read from OPMAS_NATS_CREDS). */
  creds: string;
  config: AgentConfig;
  /** OPMAS_NATS_TLS_CA: a CA file for brokers whose certificate is not from a public CA. */
  tlsCaFile?: string;
}

export class AgentEnvironmentError extends Error {
  readonly code = 'agent_environment_invalid';
}

/** Reads and checks the agent's environment; AgentEnvironmentError names the variable at fault. */
export function readAgentEnvironment(env: NodeJS.ProcessEnv = process.env): AgentEnvironment {
  const agentId = env.OPMAS_AGENT_ID ?? '';
  if (!AGENT_ID_PATTERN.test(agentId)) throw new AgentEnvironmentError('OPMAS_AGENT_ID must be an agent ID such as security-<uuid v4>');
  const natsUrl = env.OPMAS_NATS_URL ?? '';
  if (!natsUrl) throw new AgentEnvironmentError('OPMAS_NATS_URL must name the broker, e.g. nats://127.0.0.1:4222');
  const credsPath = env.OPMAS_NATS_CREDS ?? '';
  if (!credsPath) throw new AgentEnvironmentError('OPMAS_NATS_CREDS must be the path of the agent’s .creds file');
  let creds: string;
  try {
    creds = fs.readFileSync(credsPath, 'utf8');
  } catch (err) {
    throw new AgentEnvironmentError(`OPMAS_NATS_CREDS points to ${credsPath}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let config: AgentConfig = {};
  if (env.OPMAS_CONFIG) {
    try {
      config = JSON.parse(env.OPMAS_CONFIG) as AgentConfig;
    } catch {
      throw new AgentEnvironmentError('OPMAS_CONFIG is not valid JSON');
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new AgentEnvironmentError('OPMAS_CONFIG must be a JSON object');
  }
  const tlsCaFile = env.OPMAS_NATS_TLS_CA || undefined;
  if (tlsCaFile && !fs.existsSync(tlsCaFile)) throw new AgentEnvironmentError(`OPMAS_NATS_TLS_CA points to ${tlsCaFile}, which does not exist`);
  return { agentId, natsUrl, creds, config, tlsCaFile };
}
