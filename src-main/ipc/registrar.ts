// Registers IPC handlers for declared channels: checks the sender, validates the request,
// and turns the outcome into a BridgeResult so nothing is thrown across the bridge.
import type { ZodType } from 'zod';
import type { BridgeResult } from '../../src-preload/console-api.js';
import { ConsoleError } from '../errors.js';
import type { InvokeChannel } from './channel.js';

/** The part of an Electron IpcMainInvokeEvent the checks read. */
export interface InvokeEventLike {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

/** The part of Electron's ipcMain the registrar uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: any, ...args: any[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface IpcRegistrarDeps {
  ipcMain: IpcMainLike;
  /** Accepts only the main window's top frame on the console origin (windows/security.ts). */
  isTrustedSender(event: InvokeEventLike): boolean;
  /** Where unexpected handler failures are reported (never with request bodies). */
  onUnexpectedError?(channel: string, err: unknown): void;
}

export type Handler<Req, Res> = (req: Req) => Res | Promise<Res>;

export interface IpcRegistrar {
  /** Handles a channel; `schema` validates the request (null for channels without one). Returns an unregister function. */
  handle<Req, Res>(channel: InvokeChannel<Req, Res>, schema: ZodType<Req> | null, handler: Handler<Req, Res>): () => void;
}

export function createIpcRegistrar(deps: IpcRegistrarDeps): IpcRegistrar {
  return {
    handle<Req, Res>(channel: InvokeChannel<Req, Res>, schema: ZodType<Req> | null, handler: Handler<Req, Res>) {
      deps.ipcMain.handle(channel.name, async (event: InvokeEventLike, ...args: unknown[]): Promise<BridgeResult<Res>> => {
        if (!deps.isTrustedSender(event)) {
          return { ok: false, error: { code: 'untrusted_sender', message: 'This page may not use the console bridge' } };
        }
        let req: Req;
        if (schema) {
          const parsed = schema.safeParse(args[0]);
          if (!parsed.success) {
            const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ');
            return { ok: false, error: { code: 'invalid_input', message: detail } };
          }
          req = parsed.data;
        } else {
          if (args.length > 0 && args[0] !== undefined) {
            return { ok: false, error: { code: 'invalid_input', message: 'This call takes no arguments' } };
          }
          req = undefined as Req;
        }
        try {
          return { ok: true, value: await handler(req) };
        } catch (err) {
          if (err instanceof ConsoleError) return { ok: false, error: { code: err.code, message: err.message } };
          deps.onUnexpectedError?.(channel.name, err);
          return { ok: false, error: { code: 'internal', message: 'The console failed to do that; see the app log' } };
        }
      });
      return () => deps.ipcMain.removeHandler(channel.name);
    },
  };
}
