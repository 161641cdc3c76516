// Events injected into the AMS's bus go through the cluster's event stream like every other:
// this waits until the stream has delivered the injected one back to this process.
import type { AmsEvent, AmsEventInput, EventBus } from '../../server/events/bus.js';
import { canonical } from './canonical.js';

export function publishDelivered(bus: EventBus, e: AmsEventInput, timeoutMs = 20_000): Promise<AmsEvent> {
  const key = canonical(e);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`the event was not delivered: ${key.slice(0, 200)}`));
    }, timeoutMs);
    const off = bus.subscribe((ev) => {
      const { id: _id, time: _time, ...rest } = ev as AmsEvent & Record<string, unknown>;
      if (canonical(rest) !== key) return;
      clearTimeout(timer);
      off();
      resolve(ev);
    });
    bus.publish(e);
  });
}
