// IPC group: app info.
import type { AppInfo } from '../../src-preload/console-api.js';
import { appInfo } from './channels.js';
import type { IpcRegistrar } from './registrar.js';

export function registerAppIpc(deps: { registrar: IpcRegistrar; appInfo: () => AppInfo }): void {
  deps.registrar.handle(appInfo, null, () => deps.appInfo());
}
