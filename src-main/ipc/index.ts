// Registers every IPC group; index.ts calls this once the window exists.
import type { AppInfo, FleetCounts } from '../../src-preload/console-api.js';
import type { ConnectionManager } from '../connection/connection-manager.js';
import type { AlertNotifier } from '../notifications/alert-notifier.js';
import type { PreferencesStore } from '../notifications/preferences.js';
import type { ProfileStore } from '../profiles/profile-store.js';
import { registerAppIpc } from './app.js';
import { registerConnectionIpc, registerCredentialIpc, registerProfileIpc } from './connection.js';
import { registerFleetIpc, registerNotificationIpc } from './notifications.js';
import { createIpcRegistrar, type IpcRegistrarDeps } from './registrar.js';

export interface ConsoleIpcDeps extends IpcRegistrarDeps {
  appInfo: () => AppInfo;
  connection: ConnectionManager;
  profiles: ProfileStore;
  preferences: PreferencesStore;
  notifier: AlertNotifier;
  notificationsSupported: () => boolean;
  onFleetHealth: (counts: FleetCounts) => void;
}

export function registerConsoleIpc(deps: ConsoleIpcDeps): void {
  const registrar = createIpcRegistrar(deps);
  registerAppIpc({ registrar, appInfo: deps.appInfo });
  const connectionDeps = { registrar, connection: deps.connection, profiles: deps.profiles };
  registerConnectionIpc(connectionDeps);
  registerProfileIpc(connectionDeps);
  registerCredentialIpc(connectionDeps);
  registerNotificationIpc({ registrar, preferences: deps.preferences, notifier: deps.notifier, isSupported: deps.notificationsSupported });
  registerFleetIpc({ registrar, onFleetHealth: deps.onFleetHealth });
}
