// The process table, sampled every 250 ms for the whole run: how many live OS processes run each
// agent. An agent process is found by its environment (/proc/<pid>/environ): the supervisor's
// launcher builds it from nothing with OPMAS_AGENT_ID=<id> (server/supervisor/command.ts), and
// HOME is the supervisor's own, which the harness makes a folder of this run, so agents of other
// test runs on the machine are not counted.
import fs from 'node:fs';
import { alive } from '../helpers/proc.js';

export interface Sample {
  at: number;
  /** agent id -> pids running it. */
  pids: Map<string, number[]>;
}

export interface Violation {
  agentId: string;
  at: string;
  pids: number[];
}

export interface ProcessSampler {
  /** Samples taken so far. */
  count(): number;
  /** Samples once now (besides the timer) and answers it. */
  sampleNow(): Sample;
  /** The latest sample's pids of an agent. */
  pidsOf(agentId: string): number[];
  /** Every pid ever seen running the agent, in the order first seen. */
  everPids(agentId: string): number[];
  /** Every agent id seen. */
  agents(): string[];
  /** Every sample in which an agent had more than one process (with an optional start time). */
  violations(since?: number): Violation[];
  /** Every agent pid seen alive in the last sample (to end them after the run). */
  livePids(): number[];
  stop(): void;
}


export function startProcessSampler(opts: { marker: string; intervalMs?: number }): ProcessSampler {
  const marker = `HOME=${opts.marker}`;
  const ever = new Map<string, number[]>();
  const violations: Array<{ agentId: string; at: number; pids: number[] }> = [];
  let last: Sample = { at: Date.now(), pids: new Map() };
  let samples = 0;

  const sample = (): Sample => {
    const pids = new Map<string, number[]>();
    let names: string[];
    try {
      names = fs.readdirSync('/proc');
    } catch {
      names = [];
    }
    for (const name of names) {
      if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
      let env: string;
      try {
        env = fs.readFileSync(`/proc/${name}/environ`, 'latin1');
      } catch {
        continue;
      }
      if (!env.includes('OPMAS_AGENT_ID=')) continue;
      const vars = env.split('\0');
      if (!vars.some((v) => v === marker || v.startsWith(`${marker}/`))) continue;
      const id = vars.find((v) => v.startsWith('OPMAS_AGENT_ID='))?.slice('OPMAS_AGENT_ID='.length);
      if (!id || !alive(name)) continue;
      const pid = Number(name);
      pids.set(id, [...(pids.get(id) ?? []), pid]);
      const seen = ever.get(id) ?? [];
      if (!seen.includes(pid)) ever.set(id, [...seen, pid]);
    }
    const at = Date.now();
    for (const [agentId, list] of pids) if (list.length > 1) violations.push({ agentId, at, pids: list });
    samples += 1;
    last = { at, pids };
    return last;
  };
  sample();
  const timer = setInterval(sample, opts.intervalMs ?? 250);
  timer.unref();

  return {
    count: () => samples,
    sampleNow: sample,
    pidsOf: (id) => last.pids.get(id) ?? [],
    everPids: (id) => ever.get(id) ?? [],
    agents: () => [...ever.keys()],
    violations: (since = 0) => violations.filter((v) => v.at >= since).map((v) => ({ agentId: v.agentId, at: new Date(v.at).toISOString(), pids: v.pids })),
    livePids: () => [...last.pids.values()].flat(),
    stop: () => clearInterval(timer),
  };
}
