// Main -> renderer notifications on declared event channels.
import type { EventChannel } from './channel.js';

export interface EventTarget {
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
}

export function sendEvent<P>(target: EventTarget | null, channel: EventChannel<P>, payload: P): void {
  if (target && !target.isDestroyed()) target.send(channel.name, payload);
}
