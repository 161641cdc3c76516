// IPC group: desktop notification settings and alerts, and the fleet health for tray and menu.
import type { FleetCounts, NotificationSettings } from '../../src-preload/console-api.js';
import type { AlertNotifier } from '../notifications/alert-notifier.js';
import type { PreferencesStore } from '../notifications/preferences.js';
import * as ch from './channels.js';
import type { IpcRegistrar } from './registrar.js';
import { alertEventRequest, fleetCountsRequest, notificationUpdateRequest } from './schemas.js';

export interface NotificationIpcDeps {
  registrar: IpcRegistrar;
  preferences: PreferencesStore;
  notifier: AlertNotifier;
  isSupported: () => boolean;
}

export function registerNotificationIpc({ registrar, preferences, notifier, isSupported }: NotificationIpcDeps): void {
  const settings = (): NotificationSettings => ({ supported: isSupported(), ...preferences.notifications() });
  registrar.handle(ch.notificationSettings, null, settings);
  registrar.handle(ch.updateNotificationSettings, notificationUpdateRequest, (patch) => {
    preferences.updateNotifications(patch);
    return settings();
  });
  registrar.handle(ch.notifyAlert, alertEventRequest, (alert) => notifier.notify(alert) === 'shown');
}

export function registerFleetIpc(deps: { registrar: IpcRegistrar; onFleetHealth: (counts: FleetCounts) => void }): void {
  deps.registrar.handle(ch.reportFleetHealth, fleetCountsRequest, (counts) => {
    deps.onFleetHealth(counts);
  });
}
