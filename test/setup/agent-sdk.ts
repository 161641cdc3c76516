// Once per broker test run: builds the agent SDK bundle exactly as `npm run build` does, into
// a temp dir, so agent processes in the tests load what ships (OPMAS_AGENT_SDK points at it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildAgentSdk } from '../../scripts/build-agent-sdk.js';

declare module 'vitest' {
  export interface ProvidedContext {
    agentSdk: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-sdk-'));
  const entry = await buildAgentSdk(dir);
  project.provide('agentSdk', entry);
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
