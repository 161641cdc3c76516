// notification_channels and alert_settings: the channels managed through the API (secrets
// arrive here already sealed) and the alert settings kept as JSONB values by key.
import type { Queryable } from './agents.repo.js';

export interface ChannelRow {
  name: string;
  type: string;
  enabled: boolean;
  min_severity: string | null;
  settings: Record<string, unknown>;
  secrets: string | null;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

export type ChannelInput = Pick<ChannelRow, 'name' | 'type' | 'enabled' | 'min_severity' | 'settings' | 'secrets'>;

export function notificationChannelsRepo(q: Queryable) {
  return {
    all(): Promise<ChannelRow[]> {
      return q('notification_channels').select('*').orderBy('name');
    },
    /** Replaces the whole set: rows not named are deleted, the others inserted or updated. */
    async replaceAll(rows: ChannelInput[], by: string, now: Date): Promise<void> {
      const names = rows.map((r) => r.name);
      const gone = q('notification_channels');
      if (names.length > 0) gone.whereNotIn('name', names);
      await gone.delete();
      for (const r of rows) {
        await q('notification_channels')
          .insert({ ...r, settings: JSON.stringify(r.settings), created_at: now, updated_at: now, updated_by: by })
          .onConflict('name')
          .merge(['type', 'enabled', 'min_severity', 'settings', 'secrets', 'updated_at', 'updated_by']);
      }
    },
  };
}

export function alertSettingsRepo(q: Queryable) {
  return {
    async get<T>(key: string): Promise<T | undefined> {
      const row = await q('alert_settings').where('key', key).first('value');
      return row?.value as T | undefined;
    },
    async put(key: string, value: unknown, by: string): Promise<void> {
      await q('alert_settings')
        .insert({ key, value: JSON.stringify(value), updated_at: new Date(), updated_by: by })
        .onConflict('key')
        .merge(['value', 'updated_at', 'updated_by']);
    },
    async remove(key: string): Promise<void> {
      await q('alert_settings').where('key', key).delete();
    },
  };
}
