// Factories for test data created through the API.
import { randomBytes } from 'node:crypto';
import type { ApiClient } from './ams.js';
import { recordCreds } from './creds.js';

let counter = 0;

export function agentBody(overrides: Record<string, unknown> = {}) {
  counter += 1;
  return {
    agent_name: `Agent${counter}_${randomBytes(3).toString('hex')}`,
    agent_version: '1.0.0',
    agent_type: 'security',
    description: 'test agent',
    subscribed_topics: ['logs.security', 'logs.auth'],
    findings_topic: 'findings.security',
    ...overrides,
  };
}

export async function createAgent(api: ApiClient, overrides: Record<string, unknown> = {}) {
  const res = await api.post('/api/v1/agents', agentBody(overrides));
  if (res.status !== 201) throw new Error(`createAgent: ${res.status} ${JSON.stringify(res.body)}`);
  recordCreds(res.body.nats?.creds);
  return res.body as { id: string; agent_name: string; agent_type: string; labels: Record<string, string>; nats: { url: string; creds: string } | null };
}
