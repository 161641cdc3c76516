// Alerts (open, acknowledged, resolved), the silences that mute their notifications, and the
// rules with their severity: loaded from the API and kept current from alert.* events
// (alert.silence.* for silences).
import type { Alert, AlertRule, BulkAckResult, LiveEvent, NewSilence, Silence } from '../api/types';
import type { Slice, StoreDeps } from './store';

export interface AlertsSlice {
  alerts: { status: 'idle' | 'loading' | 'ready' | 'error'; error: unknown; items: Record<string, Alert>; revision: number };
  silences: { status: 'idle' | 'loading' | 'ready' | 'error'; error: unknown; items: Record<string, Silence> };
  alertRules: AlertRule[];
  loadAlerts(): Promise<void>;
  ackAlert(id: number): Promise<Alert>;
  ackAlerts(ids: number[]): Promise<BulkAckResult>;
  loadSilences(): Promise<void>;
  createSilence(body: NewSilence): Promise<Silence>;
  endSilence(id: number): Promise<Silence>;
  loadAlertRules(): Promise<void>;
  applyAlertEvents(events: LiveEvent[]): void;
}

export function openAlertCount(items: Record<string, Alert>): number {
  let n = 0;
  for (const id in items) if (items[id].status === 'open') n++;
  return n;
}

/** Whether a silence is in force at `nowMs` (the AMS decides the same way; this keeps the view current between events). */
export function silenceActive(s: Pick<Silence, 'starts_at' | 'ends_at' | 'ended_at'>, nowMs: number): boolean {
  return !s.ended_at && Date.parse(s.starts_at) <= nowMs && nowMs < Date.parse(s.ends_at);
}

/** Whether a silence covers alerts of `rule` about `agentId`. */
export function silenceCovers(s: Pick<Silence, 'agent_id' | 'rule'>, agentId: string | null, rule: string): boolean {
  return (s.agent_id === null || s.agent_id === agentId) && (s.rule === null || s.rule === rule);
}

/** The active silence that mutes an alert now, if any (the longest-lasting when several do). */
export function silenceFor(alert: Pick<Alert, 'agent_id' | 'rule'>, silences: Iterable<Silence>, nowMs: number): Silence | undefined {
  let best: Silence | undefined;
  for (const s of silences) {
    if (!silenceActive(s, nowMs) || !silenceCovers(s, alert.agent_id, alert.rule)) continue;
    if (!best || Date.parse(s.ends_at) > Date.parse(best.ends_at)) best = s;
  }
  return best;
}

export const alertsSlice = ({ client }: StoreDeps): Slice<AlertsSlice> => (set) => {
  const merge = (list: Array<Partial<Alert> & { id: number }>) =>
    set((s) => {
      const items = { ...s.alerts.items };
      for (const a of list) items[a.id] = { ...(items[a.id] ?? ({} as Alert)), ...a } as Alert;
      return { alerts: { ...s.alerts, items, revision: s.alerts.revision + 1 } };
    });
  const mergeSilences = (list: Silence[]) =>
    set((s) => {
      const items = { ...s.silences.items };
      for (const x of list) items[x.id] = x;
      return { silences: { ...s.silences, items } };
    });
  return {
    alerts: { status: 'idle', error: null, items: {}, revision: 0 },
    silences: { status: 'idle', error: null, items: {} },
    alertRules: [],
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
    async ackAlerts(ids) {
      const result = await client.alerts.ackMany(ids);
      merge(result.acknowledged);
      return result;
    },
    async loadSilences() {
      set((s) => ({ silences: { ...s.silences, status: 'loading', error: null } }));
      try {
        const [active, inactive] = await Promise.all([client.silences.list('active'), client.silences.list('inactive', 50)]);
        const items: Record<string, Silence> = {};
        for (const x of [...inactive.items, ...active.items]) items[x.id] = x;
        set({ silences: { status: 'ready', error: null, items } });
      } catch (error) {
        set((s) => ({ silences: { ...s.silences, status: 'error', error } }));
      }
    },
    async createSilence(body) {
      const silence = await client.silences.create(body);
      mergeSilences([silence]);
      return silence;
    },
    async endSilence(id) {
      const silence = await client.silences.end(id);
      mergeSilences([silence]);
      return silence;
    },
    async loadAlertRules() {
      try {
        set({ alertRules: (await client.alerts.rules()).items });
      } catch {
        // Rule names still show as they are; severities come with each alert.
      }
    },
    applyAlertEvents(events) {
      const changed: Array<Partial<Alert> & { id: number }> = [];
      const silences: Silence[] = [];
      for (const e of events) {
        if (e.type === 'alert.silence.created' || e.type === 'alert.silence.ended') silences.push(e.silence);
        else if ((e.type === 'alert.raised' || e.type === 'alert.updated' || e.type === 'alert.acknowledged' || e.type === 'alert.resolved') && e.alert?.id) changed.push(e.alert);
      }
      if (changed.length) merge(changed);
      if (silences.length) mergeSilences(silences);
    },
  };
};
