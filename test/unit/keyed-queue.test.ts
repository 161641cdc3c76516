// Per-key serialization: one item at a time per key, in order; keys independent; a failure does
// not stop what follows; settle waits for everything queued.
import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from '../../server/util/keyed-queue.js';

const later = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('keyed queue', () => {
  it('runs the items of one key one at a time, in order, and different keys side by side', async () => {
    const q = createKeyedQueue();
    const log: string[] = [];
    const item = (key: string, name: string, ms: number) => q.run(key, async () => {
      log.push(`${name}+`);
      await later(ms);
      log.push(`${name}-`);
      return name;
    });
    const results = await Promise.all([item('a', 'a1', 30), item('a', 'a2', 1), item('b', 'b1', 5)]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(q.busy()).toEqual([]);
  });

  it('goes on after a failure, which only its own caller sees', async () => {
    const q = createKeyedQueue();
    const failed = q.run('k', async () => {
      throw new Error('boom');
    });
    const next = q.run('k', async () => 'after');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('after');
  });

  it('settles what was queued, also work queued while waiting', async () => {
    const q = createKeyedQueue();
    let done = 0;
    void q.run('x', async () => {
      await later(10);
      done++;
      void q.run('y', async () => {
        await later(10);
        done++;
      });
    });
    await q.settle();
    expect(done).toBe(2);
  });
});
