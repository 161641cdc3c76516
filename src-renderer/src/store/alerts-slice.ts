// Alerts (open, acknowledged, resolved), loaded from the API and kept current from alert.* events.
import type { Alert, LiveEvent } from '../api/types';
import type { Slice, StoreDeps } from './store';

export interface AlertsSlice {
  alerts: { status: 'idle' | 'loading' | 'ready' | 'error'; error: unknown; items: Record<string, Alert>; revision: number };
  loadAlerts(): Promise<void>;
  ackAlert(id: number): Promise<Alert>;
  applyAlertEvents(events: LiveEvent[]): void;
}

export function openAlertCount(items: Record<string, Alert>): number {
  let n = 0;
  for (const id in items) if (items[id].status === 'open') n++;
  return n;
}

export const alertsSlice = ({ client }: StoreDeps): Slice<AlertsSlice> => (set, get) => {
  const merge = (list: Array<Partial<Alert> & { id: number }>) =>
    set((s) => {
      const items = { ...s.alerts.items };
      for (const a of list) items[a.id] = { ...(items[a.id] ?? ({} as Alert)), ...a } as Alert;
      return { alerts: { ...s.alerts, items, revision: s.alerts.revision + 1 } };
    });
  return {
    alerts: { status: 'idle', error: null, items: {}, revision: 0 },
    async loadAlerts() {
      set((s) => ({ alerts: { ...s.alerts, status: 'loading', error: null } }));
      try {
        const pages = await Promise.all((['open', 'acknowledged', 'resolved'] as const).map((status) => client.alerts.list({ status, limit: 500 })));
        const items: Record<string, Alert> = {};
        for (const p of pages) for (const a of p.items) items[a.id] = a;
        set((s) => ({ alerts: { status: 'ready', error: null, items, revision: s.alerts.revision + 1 } }));
      } catch (error) {
        set((s) => ({ alerts: { ...s.alerts, status: 'error', error } }));
      }
    },
    async ackAlert(id) {
      const alert = await client.alerts.ack(id);
      merge([alert]);
      return alert;
    },
    applyAlertEvents(events) {
      const changed = events.flatMap((e) => (e.type.startsWith('alert.') && 'alert' in e && e.alert?.id ? [e.alert] : []));
      if (changed.length) merge(changed);
      void get;
    },
  };
};
