// The tray icon showing fleet health; clicking it brings the console window back.
import type { Menu as ElectronMenu, nativeImage as ElectronNativeImage, Tray as ElectronTray } from 'electron';
import { type FleetIndicator, statusDotBitmap } from './fleet-health.js';

export interface FleetTrayDeps {
  Tray: typeof ElectronTray;
  Menu: Pick<typeof ElectronMenu, 'buildFromTemplate'>;
  nativeImage: Pick<typeof ElectronNativeImage, 'createFromBitmap'>;
  onOpen: () => void;
  onQuit: () => void;
}

export interface FleetTray {
  update(indicator: FleetIndicator): void;
  destroy(): void;
}

export function createFleetTray(deps: FleetTrayDeps, initial: FleetIndicator): FleetTray {
  const icon = (i: FleetIndicator) => {
    const dot = statusDotBitmap(i.level, 16);
    return deps.nativeImage.createFromBitmap(dot.bgra, { width: dot.width, height: dot.height });
  };
  const tray = new deps.Tray(icon(initial));
  const apply = (i: FleetIndicator) => {
    tray.setImage(icon(i));
    tray.setToolTip(i.tooltip);
    tray.setContextMenu(
      deps.Menu.buildFromTemplate([
        { label: i.label, enabled: false },
        { type: 'separator' },
        { label: 'Open OPMAS Console', click: deps.onOpen },
        { label: 'Quit', click: deps.onQuit },
      ]),
    );
  };
  apply(initial);
  tray.on('click', deps.onOpen);
  return { update: apply, destroy: () => tray.destroy() };
}
