import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../server/events/bus.js';

const ev = (n: number) => ({ type: 'log.line' as const, agent_id: 'a', level: 'INFO', message: `m${n}`, timestamp: '', source: 'test' });

describe('event bus', () => {
  it('numbers events monotonically and hands them to listeners', () => {
    const bus = createEventBus({ capacity: 10 });
    const seen: number[] = [];
    const off = bus.subscribe((e) => seen.push(e.id));
    bus.subscribe(() => {
      throw new Error('a broken listener');
    });
    bus.publish(ev(1));
    bus.publish(ev(2));
    off();
    bus.publish(ev(3));
    expect(seen).toEqual([1, 2]);
    expect(bus.lastId()).toBe(3);
  });

  it('replays what a client missed, and reports a gap once it is no longer kept', () => {
    const bus = createEventBus({ capacity: 5 });
    for (let i = 1; i <= 8; i++) bus.publish(ev(i));
    expect(bus.since(6)).toEqual({ events: [expect.objectContaining({ id: 7 }), expect.objectContaining({ id: 8 })], gap: false });
    expect(bus.since(8)).toEqual({ events: [], gap: false });
    const old = bus.since(1);
    expect(old.gap).toBe(true);
    expect(old.events.map((e) => e.id)).toEqual([4, 5, 6, 7, 8]);
    expect(bus.since(3).gap).toBe(false);
  });
});
