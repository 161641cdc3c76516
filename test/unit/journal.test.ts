// The supervisor's observation journal: what is not published survives a restart and goes first,
// in order; the next epoch numbers from 1; samples and log lines are bounded (oldest dropped,
// counted, reported), state observations never dropped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createJournal, ObservationTooLarge } from '../../server/supervisor/journal.js';
import type { Observation } from '../../server/broker/host-protocol.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-journal-'));
  dirs.push(d);
  return d;
};
const hello = { name: 'h', address: null, version: '1', pid: 1, started_at: new Date().toISOString(), agents_dir: '/a' };
const AGENT = 'security-00000000-0000-4000-8000-000000000001';
const sample = () => ({ samples: [{ agent_id: AGENT, t: Date.now(), values: { memory_mb: 1 } }] });

describe('observation journal', () => {
  it('keeps what was not published across a restart and publishes it first, in order, before the next epoch', async () => {
    const d = dir();
    const first = createJournal({ dir: d, hostId: 'h1', logger });
    first.open(1);
    first.emit('host.hello', hello);
    first.emit('status.columns', { agent_id: AGENT, set: { last_error: 'x' } });
    first.stop(); // crashed before NATS took anything

    const second = createJournal({ dir: d, hostId: 'h1', logger });
    expect(second.open(2)).toBe(2);
    second.emit('host.hello', hello);
    const published: Observation[] = [];
    second.start(async (o) => {
      published.push(o);
    });
    expect(await second.drained(5000)).toBe(true);
    expect(published.map((o) => `${o.epoch}:${o.seq}:${o.kind}`)).toEqual(['1:1:host.hello', '1:2:status.columns', '2:1:host.hello']);
    expect(fs.readFileSync(path.join(d, 'journal.ndjson'), 'utf8')).toBe('');
    second.stop();
  });

  it('retries in order while publishing fails, and drops only samples and log lines past its bound', async () => {
    const d = dir();
    const j = createJournal({ dir: d, hostId: 'h1', logger, maxDroppableBytes: 2000, window: 1 });
    j.open(1);
    j.emit('host.hello', hello);
    for (let i = 0; i < 40; i++) j.emit('metrics.samples', sample());
    j.emit('status.columns', { agent_id: AGENT, set: { last_error: 'kept' } });
    const stats = j.stats();
    expect(stats.dropped_samples).toBeGreaterThan(0);
    let up = false;
    const published: Observation[] = [];
    j.start(async (o) => {
      if (!up) throw new Error('NATS is away');
      published.push(o);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(published).toEqual([]);
    up = true;
    expect(await j.drained(10_000)).toBe(true);
    const kinds = published.map((o) => o.kind);
    // Every state observation is there; each dropped batch is a placeholder in its place.
    expect(kinds[0]).toBe('host.hello');
    expect(kinds).toContain('status.columns');
    const kept = kinds.filter((k) => k === 'metrics.samples').length;
    expect(kept).toBeLessThan(40);
    const placeholders = published.filter((o) => o.kind === 'journal.dropped');
    expect(placeholders.reduce((n, o) => n + (o.body as { samples: number }).samples, 0)).toBe(40 - kept);
    expect(j.stats().dropped_samples).toBe(40 - kept);
    // No gap in the sequence for the control plane to wait on, in order.
    expect(published.map((o) => o.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    j.stop();
  });

  it('publishes a placeholder in place of an observation NATS can never take, and goes on with the rest', async () => {
    const j = createJournal({ dir: dir(), hostId: 'h1', logger, window: 4 });
    j.open(1);
    j.emit('host.hello', hello);
    j.emit('logs.lines', { lines: [{ agent_id: AGENT, level: 'info', message: 'x'.repeat(5000), context: null, timestamp: new Date().toISOString(), source: 'stdout' }] });
    j.emit('status.columns', { agent_id: AGENT, set: { last_error: 'after' } });
    const published: Observation[] = [];
    let refused = 0;
    j.start(async (o) => {
      const bytes = JSON.stringify(o).length;
      if (bytes > 1000) {
        refused += 1;
        throw new ObservationTooLarge(bytes, 1000);
      }
      if (!published.some((p) => p.seq === o.seq)) published.push(o);
    });
    expect(await j.drained(5000)).toBe(true);
    expect(refused).toBe(1);
    expect(published.sort((a, b) => a.seq - b.seq).map((o) => `${o.seq}:${o.kind}`)).toEqual(['1:host.hello', '2:journal.dropped', '3:status.columns']);
    expect(published[1].body).toMatchObject({ samples: 0, log_lines: 1 });
    expect(j.stats()).toMatchObject({ dropped_log_lines: 1, oversized: 0, pending: 0 });
    j.stop();
  });
});
