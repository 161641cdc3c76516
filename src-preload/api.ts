// Builds window.opmas from the declared channels: one named verb per channel, results passed
// through as BridgeResult values, event listeners given the payload only (never the IPC event,
// which carries the sender). Takes ipcRenderer as an argument so it is testable in Node.
import type { BridgeResult, OpmasApi } from './console-api.js';
import type { EventChannel, InvokeChannel } from '../src-main/ipc/channel.js';
import * as ch from '../src-main/ipc/channels.js';

/** The part of Electron's ipcRenderer the bridge uses. */
export interface RendererIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}

export function createOpmasApi(ipc: RendererIpc): OpmasApi {
  function invoke<Res>(channel: InvokeChannel<void, Res>): Promise<BridgeResult<Res>>;
  function invoke<Req, Res>(channel: InvokeChannel<Req, Res>, req: Req): Promise<BridgeResult<Res>>;
  function invoke<Req, Res>(channel: InvokeChannel<Req, Res>, ...req: [Req] | []): Promise<BridgeResult<Res>> {
    return ipc.invoke(channel.name, ...req) as Promise<BridgeResult<Res>>;
  }
  const subscribe = <P>(channel: EventChannel<P>, listener: (payload: P) => void): (() => void) => {
    const wrapped = (_event: unknown, payload: unknown) => listener(payload as P);
    ipc.on(channel.name, wrapped);
    return () => void ipc.removeListener(channel.name, wrapped);
  };

  return {
    app: {
      info: () => invoke(ch.appInfo),
      onMenuCommand: (listener) => subscribe(ch.menuCommand, listener),
    },
    connection: {
      info: () => invoke(ch.connectionInfo),
      accessToken: () => invoke(ch.accessToken),
      onChange: (listener) => subscribe(ch.connectionChanged, listener),
      reportStreamDown: (url, attempts) => invoke(ch.streamDown, { url, attempts }),
    },
    profiles: {
      list: () => invoke(ch.listProfiles),
      create: (profile) => invoke(ch.createProfile, profile),
      update: (id, patch) => invoke(ch.updateProfile, { id, patch }),
      remove: (id) => invoke(ch.removeProfile, { id }),
      switchTo: (id) => invoke(ch.switchProfile, { id }),
    },
    credentials: {
      login: (username, password) => invoke(ch.login, { username, password }),
      logout: () => invoke(ch.logout),
      has: (profileId) => invoke(ch.hasCredential, { profileId }),
      forget: (profileId) => invoke(ch.forgetCredential, { profileId }),
    },
    notifications: {
      settings: () => invoke(ch.notificationSettings),
      update: (settings) => invoke(ch.updateNotificationSettings, settings),
      alert: (alert) => invoke(ch.notifyAlert, alert),
      onClick: (listener) => subscribe(ch.alertClicked, listener),
    },
    fleet: {
      reportHealth: (counts) => invoke(ch.reportFleetHealth, counts),
    },
  };
}
