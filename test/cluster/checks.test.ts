// The cluster scenarios' own checks can fail: the process sampler sees an agent run twice, the
// event comparison names what is missing, extra, repeated or out of order, and the heartbeat
// window's edges fall in quiet gaps. Without a cluster: plain processes and data.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/wait.js';
import { compareWithHistory, diffIsEmpty, type HistoryRow } from './checks.js';
import { quietPoint } from './heartbeats.js';
import { startProcessSampler } from './process-sampler.js';
import type { LiveEvent } from './live.js';

const children: ChildProcess[] = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-cluster-checks-'));
afterAll(() => {
  for (const p of children) p.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

/** A process that looks like an agent started by a supervisor of this run (its environment). */
function fakeAgent(agentId: string, home: string): ChildProcess {
  const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { env: { PATH: process.env.PATH, HOME: home, OPMAS_AGENT_ID: agentId }, stdio: 'ignore' });
  children.push(p);
  return p;
}

describe('the process sampler', () => {
  it('counts the processes of each agent of this run and reports every sample in which one had two', async () => {
    const sampler = startProcessSampler({ marker: work, intervalMs: 50 });
    try {
      const first = fakeAgent('security-self-test', path.join(work, 'home-h1'));
      // Another run's agent with the same id is not this run's.
      fakeAgent('security-self-test', path.join(os.tmpdir(), 'elsewhere'));
      await eventually(async () => sampler.pidsOf('security-self-test'), (p) => p.length === 1, 'the first copy seen');
      expect(sampler.violations()).toEqual([]);
      const second = fakeAgent('security-self-test', path.join(work, 'home-h2'));
      await eventually(async () => sampler.violations(), (v) => v.length > 0, 'the second copy reported');
      expect(sampler.violations()[0]).toMatchObject({ agentId: 'security-self-test', pids: expect.arrayContaining([first.pid, second.pid]) });
      second.kill('SIGKILL');
      await eventually(async () => sampler.pidsOf('security-self-test'), (p) => p.length === 1, 'back to one');
      // What happened stays reported.
      expect(sampler.violations().length).toBeGreaterThan(0);
      expect(sampler.everPids('security-self-test')).toEqual([first.pid, second.pid]);
    } finally {
      sampler.stop();
    }
  });
});

describe('live events against the status history', () => {
  const row = (id: number, event_type: string, from: string | null, to: string | null, details: Record<string, unknown> = {}): HistoryRow => ({
    id, agent_id: 'a1', event_type, from_status: from, to_status: to, details, created_at: new Date(),
  });
  const status = (id: number, event_type: string, from: string, to: string, details: Record<string, unknown> = {}): LiveEvent => ({
    id, type: 'status.changed', time: '', agent_id: 'a1', event_type, from, to, details,
  });
  const history = [
    row(1, 'registered', 'discovered', 'registered'),
    row(2, 'start_requested', 'registered', 'starting', { b: 1, a: 2 }),
    row(3, 'process_started', 'starting', 'running', { pid: 7 }),
    row(4, 'health_changed', 'unknown', 'healthy', { reasons: [] }),
  ];
  const events: LiveEvent[] = [
    status(10, 'start_requested', 'registered', 'starting', { a: 2, b: 1 }),
    status(11, 'process_started', 'starting', 'running', { pid: 7 }),
    { id: 12, type: 'health.changed', time: '', agent_id: 'a1', from: 'unknown', to: 'healthy', reasons: [] },
  ];

  it('match when every change was sent once, in order (keys in any order, other agents and types aside)', () => {
    const other = { ...status(13, 'process_started', 'starting', 'running'), agent_id: 'a2' };
    expect(diffIsEmpty(compareWithHistory([...events, other, { id: 14, type: 'host.up', time: '' }], history, ['a1']))).toBe(true);
  });

  it('name a change never sent, one sent twice, a repeated id, an id going back and a resync', () => {
    const lost = compareWithHistory([events[0], events[2]], history, ['a1']);
    expect(lost.missing).toEqual(['a1|status|process_started|starting|running|{"pid":7}']);
    const twice = compareWithHistory([...events, status(13, 'process_started', 'starting', 'running', { pid: 7 })], history, ['a1']);
    expect(twice.extra).toEqual(['a1|status|process_started|starting|running|{"pid":7}']);
    const replayed = compareWithHistory([...events, events[1]], history, ['a1'], [{ message: { type: 'resync' } }]);
    expect(replayed.duplicateIds).toEqual([11]);
    expect(replayed.outOfOrder).toEqual([[12, 11]]);
    expect(replayed.resyncs).toEqual([{ type: 'resync' }]);
    expect(diffIsEmpty(replayed)).toBe(false);
  });
});

describe('the heartbeat window', () => {
  it('puts an edge in the middle of the widest quiet gap near the time asked for, or at it when nothing is near', () => {
    const times = [1000, 1100, 1900, 2000, 2050, 4000];
    expect(quietPoint(times, 1500, 600)).toBe(1500);
    expect(quietPoint(times, 1200, 600)).toBe(1500);
    expect(quietPoint(times, 3000, 1500)).toBe(3025);
    expect(quietPoint([], 1234)).toBe(1234);
    expect(quietPoint([100_000], 1234)).toBe(1234);
  });
});
