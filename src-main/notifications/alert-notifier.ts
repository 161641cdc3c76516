// Desktop notifications for alerts from the live event stream: below-threshold severities
// skipped, repeats of an alert id dropped (the stream replays on reconnect), and a rate limit
// so a fleet-wide incident does not bury the desktop; what was held back is counted into the
// next notification. The Notification constructor is injected (Electron's in the app).
import type { AlertEvent, AlertSeverity, NotificationSettings } from '../../src-preload/console-api.js';

export interface NotificationLike {
  show(): void;
  on(event: 'click', listener: () => void): unknown;
}

export interface NotificationOptionsLike {
  title: string;
  body: string;
  urgency?: 'normal' | 'critical' | 'low';
  silent?: boolean;
}

export type NotificationConstructor = new (options: NotificationOptionsLike) => NotificationLike;

export interface NotifierPolicy {
  /** An alert id already shown within this window is not shown again. */
  dedupeWindowMs: number;
  /** At most this many notifications... */
  maxPerWindow: number;
  /** ...per this sliding window. */
  rateWindowMs: number;
}

export const DEFAULT_NOTIFIER_POLICY: NotifierPolicy = Object.freeze({ dedupeWindowMs: 30 * 60_000, maxPerWindow: 5, rateWindowMs: 60_000 });

const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };

export type NotifyOutcome = 'shown' | 'disabled' | 'unsupported' | 'below-threshold' | 'duplicate' | 'rate-limited';

export interface AlertNotifierDeps {
  Notification: NotificationConstructor;
  isSupported: () => boolean;
  settings: () => Pick<NotificationSettings, 'enabled' | 'minSeverity'>;
  onClick: (alert: AlertEvent) => void;
  now?: () => number;
  policy?: Partial<NotifierPolicy>;
}

export interface AlertNotifier {
  notify(alert: AlertEvent): NotifyOutcome;
}

export function createAlertNotifier(deps: AlertNotifierDeps): AlertNotifier {
  const policy = { ...DEFAULT_NOTIFIER_POLICY, ...deps.policy };
  const now = deps.now ?? Date.now;
  const seen = new Map<string, number>();
  let shownAt: number[] = [];
  let heldBack = 0;

  return {
    notify(alert) {
      const t = now();
      if (!deps.isSupported()) return 'unsupported';
      const settings = deps.settings();
      if (!settings.enabled) return 'disabled';
      if (SEVERITY_RANK[alert.severity] < SEVERITY_RANK[settings.minSeverity]) return 'below-threshold';
      for (const [id, at] of seen) if (t - at >= policy.dedupeWindowMs) seen.delete(id);
      if (seen.has(alert.id)) return 'duplicate';
      seen.set(alert.id, t);
      shownAt = shownAt.filter((at) => t - at < policy.rateWindowMs);
      if (shownAt.length >= policy.maxPerWindow) {
        heldBack += 1;
        return 'rate-limited';
      }
      shownAt.push(t);
      const more = heldBack > 0 ? `\n(+${heldBack} more alert${heldBack === 1 ? '' : 's'} in the console)` : '';
      heldBack = 0;
      const n = new deps.Notification({
        title: `${alert.severity === 'critical' ? 'Critical' : alert.severity === 'warning' ? 'Warning' : 'Info'}: ${alert.title}`,
        body: `${alert.agent_id ? `${alert.agent_id}: ` : alert.host_id ? `host ${alert.host_id}: ` : ''}${alert.message}${more}`,
        urgency: alert.severity === 'critical' ? 'critical' : 'normal',
      });
      n.on('click', () => deps.onClick(alert));
      n.show();
      return 'shown';
    },
  };
}
