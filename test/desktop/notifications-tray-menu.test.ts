// Alert notifications (threshold, de-duplication, rate limit), notification preferences,
// the fleet-health indicator and icon, and the application menu.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAppMenuTemplate } from '../../src-main/menu/app-menu.js';
import { createAlertNotifier, type NotificationOptionsLike } from '../../src-main/notifications/alert-notifier.js';
import { createPreferencesStore, DEFAULT_NOTIFICATION_PREFS } from '../../src-main/notifications/preferences.js';
import { fleetHealthIndicator, LEVEL_COLORS, statusDotBitmap } from '../../src-main/tray/fleet-health.js';
import type { AlertEvent, Profile } from '../../src-preload/console-api.js';
import { removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

/** Records what would be on screen: the options of every shown notification. */
function recordingNotifications() {
  const shown: Array<NotificationOptionsLike & { click: () => void }> = [];
  class Recorded {
    private clickListener = () => undefined as void;
    constructor(private readonly options: NotificationOptionsLike) {}
    on(_event: 'click', listener: () => void) {
      this.clickListener = listener;
      return this;
    }
    show() {
      shown.push({ ...this.options, click: () => this.clickListener() });
    }
  }
  return { shown, Notification: Recorded };
}

const alert = (id: string, severity: AlertEvent['severity'] = 'critical', extra: Partial<AlertEvent> = {}): AlertEvent => ({
  id,
  severity,
  title: `Alert ${id}`,
  message: 'Heartbeat missed 3 times',
  ...extra,
});

describe('alert notifier', () => {
  it('shows alerts at or above the chosen severity, once per id, and reports clicks', () => {
    const { shown, Notification } = recordingNotifications();
    const clicked: string[] = [];
    let prefs = { enabled: true, minSeverity: 'warning' as const };
    const n = createAlertNotifier({ Notification, isSupported: () => true, settings: () => prefs, onClick: (a) => clicked.push(a.id) });

    expect(n.notify(alert('a1', 'critical', { agent_id: 'security-1' }))).toBe('shown');
    expect(n.notify(alert('a1', 'critical', { agent_id: 'security-1' }))).toBe('duplicate');
    expect(n.notify(alert('a2', 'info'))).toBe('below-threshold');
    expect(n.notify(alert('a3', 'warning'))).toBe('shown');
    expect(shown.map((s) => [s.title, s.body, s.urgency])).toEqual([
      ['Critical: Alert a1', 'security-1: Heartbeat missed 3 times', 'critical'],
      ['Warning: Alert a3', 'Heartbeat missed 3 times', 'normal'],
    ]);
    shown[1].click();
    expect(clicked).toEqual(['a3']);

    prefs = { ...prefs, enabled: false };
    expect(n.notify(alert('a4'))).toBe('disabled');
    expect(shown).toHaveLength(2);
  });

  it('rate-limits bursts and counts what it held back into the next notification', () => {
    const { shown, Notification } = recordingNotifications();
    let t = 0;
    const n = createAlertNotifier({
      Notification,
      isSupported: () => true,
      settings: () => DEFAULT_NOTIFICATION_PREFS,
      onClick: () => undefined,
      now: () => t,
      policy: { maxPerWindow: 3, rateWindowMs: 60_000, dedupeWindowMs: 600_000 },
    });
    const outcomes = Array.from({ length: 10 }, (_, i) => n.notify(alert(`burst-${i}`)));
    expect(outcomes).toEqual(['shown', 'shown', 'shown', ...Array(7).fill('rate-limited')]);
    t = 60_000;
    expect(n.notify(alert('after'))).toBe('shown');
    expect(shown.at(-1)!.body).toBe('Heartbeat missed 3 times\n(+7 more alerts in the console)');
    // The de-duplication window outlives the rate window, and then ends.
    expect(n.notify(alert('burst-0'))).toBe('duplicate');
    t = 600_000;
    expect(n.notify(alert('burst-0'))).toBe('shown');
  });

  it('does nothing where the OS cannot show notifications', () => {
    const { shown, Notification } = recordingNotifications();
    const n = createAlertNotifier({ Notification, isSupported: () => false, settings: () => DEFAULT_NOTIFICATION_PREFS, onClick: () => undefined });
    expect(n.notify(alert('x'))).toBe('unsupported');
    expect(shown).toEqual([]);
  });
});

describe('notification preferences', () => {
  it('default to warnings and above and persist changes', () => {
    const dir = tempDir();
    const prefs = createPreferencesStore({ dir });
    expect(prefs.notifications()).toEqual({ enabled: true, minSeverity: 'warning' });
    expect(prefs.updateNotifications({ minSeverity: 'critical' })).toEqual({ enabled: true, minSeverity: 'critical' });
    expect(createPreferencesStore({ dir }).notifications()).toEqual({ enabled: true, minSeverity: 'critical' });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'preferences.json'), 'utf8'))).toEqual({ version: 1, notifications: { enabled: true, minSeverity: 'critical' } });
  });
});

describe('fleet health indicator', () => {
  it('shows the worst state and the counts that matter', () => {
    expect(fleetHealthIndicator(null)).toMatchObject({ level: 'disconnected', label: 'Fleet: not connected' });
    expect(fleetHealthIndicator({ healthy: 0, warning: 0, critical: 0, unknown: 0 })).toMatchObject({ level: 'empty', label: 'Fleet: no agents' });
    expect(fleetHealthIndicator({ healthy: 12, warning: 0, critical: 0, unknown: 0 })).toEqual({
      level: 'ok',
      label: 'Fleet: all 12 agents healthy',
      tooltip: 'OPMAS Console — all 12 agents healthy',
    });
    expect(fleetHealthIndicator({ healthy: 36, warning: 1, critical: 2, unknown: 1 })).toMatchObject({ level: 'critical', label: 'Fleet: 2 critical, 1 warning, 1 unknown of 40 agents' });
    expect(fleetHealthIndicator({ healthy: 1, warning: 1, critical: 0, unknown: 0 }).level).toBe('warning');
    expect(fleetHealthIndicator({ healthy: 0, warning: 0, critical: 0, unknown: 1 })).toMatchObject({ level: 'unknown', label: 'Fleet: 1 unknown of 1 agent' });
  });

  it('draws a round dot in the level colour on a transparent background', () => {
    const { width, height, bgra } = statusDotBitmap('critical', 16);
    expect([width, height, bgra.length]).toEqual([16, 16, 16 * 16 * 4]);
    const px = (x: number, y: number) => [...bgra.subarray((y * 16 + x) * 4, (y * 16 + x) * 4 + 4)];
    const [r, g, b] = LEVEL_COLORS.critical;
    expect(px(8, 8)).toEqual([b, g, r, 255]);
    expect(px(0, 0)[3]).toBe(0);
    expect(px(15, 15)[3]).toBe(0);
    expect(statusDotBitmap('ok').bgra.equals(bgra)).toBe(false);
  });
});

describe('application menu', () => {
  const profiles: Profile[] = [
    { id: 'h', name: 'This machine', mode: 'host' },
    { id: 'p', name: 'Production', mode: 'attach', url: 'https://ams.example.com' },
  ];
  const base = { appName: 'OPMAS Console', fleetLabel: 'Fleet: all 3 agents healthy', profiles, activeProfileId: 'p', devTools: false, onManageProfiles: () => undefined };

  it('has the usual roles, the profiles as radio items and the fleet health', () => {
    const switched: string[] = [];
    const menu = buildAppMenuTemplate({ ...base, platform: 'linux', onSwitchProfile: (id) => switched.push(id) });
    expect(menu.map((m) => m.role ?? m.label)).toEqual(['fileMenu', 'editMenu', 'View', 'Connection', 'windowMenu', 'help']);
    const connection = menu.find((m) => m.label === 'Connection')!.submenu as Electron.MenuItemConstructorOptions[];
    expect(connection[0]).toMatchObject({ label: 'Fleet: all 3 agents healthy', enabled: false });
    const radios = connection.filter((i) => i.type === 'radio');
    expect(radios.map((r) => [r.label, r.checked])).toEqual([
      ['This machine (this machine)', false],
      ['Production (https://ams.example.com)', true],
    ]);
    (radios[0].click as () => void)();
    expect(switched).toEqual(['h']);
    const view = menu.find((m) => m.label === 'View')!.submenu as Electron.MenuItemConstructorOptions[];
    expect(view.map((i) => i.role).filter(Boolean)).not.toContain('toggleDevTools');
  });

  it('uses the app menu on macOS and offers developer tools only in development', () => {
    const menu = buildAppMenuTemplate({ ...base, platform: 'darwin', devTools: true, onSwitchProfile: () => undefined });
    expect(menu[0]).toMatchObject({ role: 'appMenu', label: 'OPMAS Console' });
    expect(menu.some((m) => m.role === 'help')).toBe(false);
    const view = menu.find((m) => m.label === 'View')!.submenu as Electron.MenuItemConstructorOptions[];
    expect(view.map((i) => i.role)).toContain('toggleDevTools');
  });
});
