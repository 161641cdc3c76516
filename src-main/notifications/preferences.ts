// The user's console preferences that are not profiles, in <userData>/preferences.json.
import path from 'node:path';
import type { AlertSeverity, NotificationSettings } from '../../src-preload/console-api.js';
import { readJson, writeJsonAtomic } from '../profiles/json-file.js';

export type NotificationPrefs = Pick<NotificationSettings, 'enabled' | 'minSeverity'>;

interface PreferencesFile {
  version: 1;
  notifications: NotificationPrefs;
}

const SEVERITIES: AlertSeverity[] = ['info', 'warning', 'critical'];
export const DEFAULT_NOTIFICATION_PREFS: NotificationPrefs = Object.freeze({ enabled: true, minSeverity: 'warning' });

export interface PreferencesStore {
  notifications(): NotificationPrefs;
  updateNotifications(patch: Partial<NotificationPrefs>): NotificationPrefs;
}

export function createPreferencesStore(opts: { dir: string }): PreferencesStore {
  const file = path.join(opts.dir, 'preferences.json');
  let cached: PreferencesFile | null = null;
  const load = (): PreferencesFile => {
    if (cached) return cached;
    const read = readJson(file, isPreferencesFile);
    cached = read.kind === 'ok' ? read.value : { version: 1, notifications: { ...DEFAULT_NOTIFICATION_PREFS } };
    return cached;
  };
  return {
    notifications: () => ({ ...load().notifications }),
    updateNotifications(patch) {
      const data = load();
      const next: PreferencesFile = { ...data, notifications: { ...data.notifications, ...patch } };
      writeJsonAtomic(file, next);
      cached = next;
      return { ...next.notifications };
    },
  };
}

function isPreferencesFile(v: unknown): v is PreferencesFile {
  const p = v as PreferencesFile;
  return typeof p === 'object' && p !== null && p.version === 1 && typeof p.notifications?.enabled === 'boolean' && SEVERITIES.includes(p.notifications.minSeverity);
}
