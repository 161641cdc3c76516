// An AMS that supervises real agent processes: a temp agents directory filled with sample
// agents, fixtures or packages written on the spot, the agent SDK the test setup built, and
// small helpers to wait for statuses and read history.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type ApiResponse, startTestAms, type TestAms, type TestAmsOptions } from './ams.js';
import { FIXTURE_AGENTS, SAMPLE_AGENTS } from './agents.js';
import { type PackageSpec, writePackage } from './packages.js';
import { eventually } from './wait.js';

export { FIXTURE_AGENTS, SAMPLE_AGENTS };

/** folder name -> a package folder to copy, or a package to write. */
export type PackageSource = string | PackageSpec;

export function fillAgentsDir(dir: string, packages: Record<string, PackageSource>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [folder, source] of Object.entries(packages)) {
    if (typeof source === 'string') fs.cpSync(source, path.join(dir, folder), { recursive: true });
    else writePackage(dir, folder, source);
  }
}

export interface SupervisedAms extends TestAms {
  agentsDir: string;
  /** The ID of the agent registered from the package named `agentName`. */
  idOf(agentName: string): Promise<string>;
  status(id: string): Promise<any>;
  /** Waits until GET .../status satisfies `ok`. */
  waitStatus(id: string, ok: (s: any) => boolean, what: string, timeoutMs?: number): Promise<any>;
  /** The whole status history, oldest first. */
  history(id: string): Promise<any[]>;
  setPolicy(id: string, policy: Record<string, unknown>): Promise<void>;
}

export async function startSupervisedAms(packages: Record<string, PackageSource>, opts: TestAmsOptions & { agentsDir?: string } = {}): Promise<SupervisedAms> {
  const agentsDir = opts.agentsDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-agents-'));
  fillAgentsDir(agentsDir, packages);
  const t = await startTestAms({ ...opts, env: { OPMAS_AGENT_SDK: inject('agentSdk'), ...opts.env }, settings: { agentsDir, ...opts.settings } });
  const s = t as SupervisedAms;
  s.agentsDir = agentsDir;
  s.idOf = async (agentName) => {
    const res = await s.api.get(`/api/v1/agents?q=${encodeURIComponent(agentName)}`);
    const agent = res.body.items.find((a: { agent_name: string }) => a.agent_name === agentName);
    if (!agent) throw new Error(`no agent named ${agentName}: ${JSON.stringify(res.body)}`);
    return agent.id;
  };
  s.status = async (id) => (await s.api.get(`/api/v1/agents/${id}/status`)).body;
  s.waitStatus = (id, ok, what, timeoutMs = 30_000) => eventually(() => s.status(id), ok, what, timeoutMs, 50);
  s.history = async (id) => {
    const out: any[] = [];
    let cursor: string | null = null;
    do {
      const res: ApiResponse = await s.api.get(`/api/v1/agents/${id}/status/history?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      if (res.status !== 200) throw new Error(`history: ${res.status} ${JSON.stringify(res.body)}`);
      out.push(...res.body.items);
      cursor = res.body.next_cursor;
    } while (cursor);
    return out.reverse();
  };
  s.setPolicy = async (id, policy) => {
    const res = await s.api.put(`/api/v1/agents/${id}/recovery/policy`, policy);
    if (res.status !== 200) throw new Error(`policy: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const stop = t.stop.bind(t);
  s.stop = async () => {
    await stop();
    fs.rmSync(agentsDir, { recursive: true, force: true });
  };
  return s;
}

import { alive } from './proc.js';

export { alive };

/** PIDs of processes whose environment names this agent (every copy of it, however started). */
export function processesOf(agentId: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = fs.readFileSync(`/proc/${name}/environ`, 'utf8');
      if (env.split('\0').includes(`OPMAS_AGENT_ID=${agentId}`) && alive(Number(name))) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
