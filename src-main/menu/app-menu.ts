// The application menu as data: the usual roles per platform, a Connection menu listing the
// profiles, and the fleet's health as a disabled item. index.ts builds it with Menu.buildFromTemplate.
import type { MenuItemConstructorOptions } from 'electron';
import type { Profile } from '../../src-preload/console-api.js';

export interface AppMenuOptions {
  platform: NodeJS.Platform;
  appName: string;
  /** From fleetHealthIndicator(). */
  fleetLabel: string;
  profiles: Profile[];
  activeProfileId: string | null;
  /** Developer tools only in development builds. */
  devTools: boolean;
  onSwitchProfile(id: string): void;
  onManageProfiles(): void;
}

export function buildAppMenuTemplate(o: AppMenuOptions): MenuItemConstructorOptions[] {
  const mac = o.platform === 'darwin';
  const connection: MenuItemConstructorOptions = {
    label: 'Connection',
    submenu: [
      { id: 'fleet-health', label: o.fleetLabel, enabled: false },
      { type: 'separator' },
      ...o.profiles.map(
        (p): MenuItemConstructorOptions => ({
          id: `profile-${p.id}`,
          label: `${p.name} (${p.mode === 'host' ? 'this machine' : p.url})`,
          type: 'radio',
          checked: p.id === o.activeProfileId,
          click: () => o.onSwitchProfile(p.id),
        }),
      ),
      ...(o.profiles.length ? [{ type: 'separator' } as MenuItemConstructorOptions] : []),
      { label: 'Manage Profiles…', click: () => o.onManageProfiles() },
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: 'View',
    submenu: [
      { role: 'reload' },
      ...(o.devTools ? [{ role: 'toggleDevTools' } as MenuItemConstructorOptions] : []),
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  return [
    ...(mac ? [{ label: o.appName, role: 'appMenu' } as MenuItemConstructorOptions] : [{ role: 'fileMenu' } as MenuItemConstructorOptions]),
    { role: 'editMenu' },
    view,
    connection,
    { role: 'windowMenu' },
    // macOS has About in the app menu.
    ...(mac ? [] : [{ role: 'help', submenu: [{ role: 'about' }] } as MenuItemConstructorOptions]),
  ];
}
