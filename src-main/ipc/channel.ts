// Typed IPC channel declarations. A channel is declared once (channels.ts) and both the
// main process and the preload use the constant, never the string. No electron import here:
// the preload bundles this file and the tests load it in Node.

/** A renderer -> main request answered with a BridgeResult. */
export interface InvokeChannel<Req, Res> {
  readonly kind: 'invoke';
  readonly name: string;
  /** Phantom field carrying the request and response types; never set. */
  readonly types?: { req: Req; res: Res };
}

/** A main -> renderer notification. */
export interface EventChannel<Payload> {
  readonly kind: 'event';
  readonly name: string;
  readonly types?: { payload: Payload };
}

type ChannelName = `console:${string}`;

export function channel<Req, Res>(name: ChannelName): InvokeChannel<Req, Res> {
  return Object.freeze({ kind: 'invoke', name });
}

export function eventChannel<Payload>(name: ChannelName): EventChannel<Payload> {
  return Object.freeze({ kind: 'event', name });
}

export type RequestOf<C> = C extends InvokeChannel<infer Req, unknown> ? Req : never;
export type ResponseOf<C> = C extends InvokeChannel<unknown, infer Res> ? Res : never;
export type PayloadOf<C> = C extends EventChannel<infer P> ? P : never;
