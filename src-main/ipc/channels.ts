// Every IPC channel of the console, declared once. The preload maps them to window.opmas
// verbs; register*Ipc in this folder handles them in the main process.
import type {
  AlertEvent,
  AppInfo,
  ConnectionInfo,
  FleetCounts,
  MenuCommand,
  NewProfile,
  NotificationSettings,
  Profile,
  ProfileList,
  ProfilePatch,
  SessionState,
} from '../../src-preload/console-api.js';
import { channel, eventChannel } from './channel.js';

export const appInfo = channel<void, AppInfo>('console:app-info');
export const menuCommand = eventChannel<MenuCommand>('console:app-menu-command');

export const connectionInfo = channel<void, ConnectionInfo>('console:connection-info');
export const accessToken = channel<void, string | null>('console:connection-access-token');
export const connectionChanged = eventChannel<ConnectionInfo>('console:connection-changed');
export const streamDown = channel<{ url: string; attempts: number }, boolean>('console:connection-stream-down');

export const listProfiles = channel<void, ProfileList>('console:profiles-list');
export const createProfile = channel<NewProfile, Profile>('console:profiles-create');
export const updateProfile = channel<{ id: string; patch: ProfilePatch }, Profile>('console:profiles-update');
export const removeProfile = channel<{ id: string }, ProfileList>('console:profiles-remove');
export const switchProfile = channel<{ id: string }, ConnectionInfo>('console:profiles-switch');

export const login = channel<{ username: string; password: string }, SessionState>('console:credentials-login');
export const logout = channel<void, SessionState>('console:credentials-logout');
export const hasCredential = channel<{ profileId: string }, boolean>('console:credentials-has');
export const forgetCredential = channel<{ profileId: string }, boolean>('console:credentials-forget');

export const notificationSettings = channel<void, NotificationSettings>('console:notifications-settings');
export const updateNotificationSettings = channel<Partial<Pick<NotificationSettings, 'enabled' | 'minSeverity'>>, NotificationSettings>(
  'console:notifications-update',
);
export const notifyAlert = channel<AlertEvent, boolean>('console:notifications-alert');
export const alertClicked = eventChannel<AlertEvent>('console:notifications-clicked');

export const reportFleetHealth = channel<FleetCounts, void>('console:fleet-health');

export const INVOKE_CHANNELS = [
  appInfo,
  connectionInfo,
  accessToken,
  streamDown,
  listProfiles,
  createProfile,
  updateProfile,
  removeProfile,
  switchProfile,
  login,
  logout,
  hasCredential,
  forgetCredential,
  notificationSettings,
  updateNotificationSettings,
  notifyAlert,
  reportFleetHealth,
] as const;

export const EVENT_CHANNELS = [menuCommand, connectionChanged, alertClicked] as const;
