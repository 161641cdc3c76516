// Electron main: wires the modules together; nothing else. Every decision lives in a module
// under src-main/ that takes its Electron pieces as arguments and is tested in Node.
import fs from 'node:fs';
import path from 'node:path';
import { AsyncEntry } from '@napi-rs/keyring';
import { app, BrowserWindow, ipcMain, Menu, nativeImage, Notification, protocol, session, shell, Tray, utilityProcess } from 'electron';
import type { FleetCounts } from '../src-preload/console-api.js';
import { createConnectionManager } from './connection/connection-manager.js';
import { createCredentialStore } from './credentials/credential-store.js';
import { forkWithUtilityProcess } from './host/fork.js';
import { bundledNatsServer, hostAmsEnvironment } from './host/host-env.js';
import { createHostLauncher, generateHostSecret } from './host/host-launcher.js';
import { alertClicked, connectionChanged, menuCommand } from './ipc/channels.js';
import { sendEvent } from './ipc/events.js';
import { registerConsoleIpc } from './ipc/index.js';
import { buildAppMenuTemplate } from './menu/app-menu.js';
import { createAlertNotifier } from './notifications/alert-notifier.js';
import { createPreferencesStore } from './notifications/preferences.js';
import { createProfileStore } from './profiles/profile-store.js';
import { fleetHealthIndicator } from './tray/fleet-health.js';
import { createFleetTray, type FleetTray } from './tray/fleet-tray.js';
import { CONSOLE_SCHEME_PRIVILEGES, createConsoleProtocolHandler } from './windows/console-protocol.js';
import { createMainWindow, hardenSession, hardenWebContents } from './windows/main-window.js';
import { CONSOLE_SCHEME, isTrustedSender } from './windows/security.js';

const CONSOLE_PARTITION = 'persist:opmas-console';
const outDir = path.resolve(import.meta.dirname, '..');
const log = (msg: string) => process.stderr.write(`opmas-console: ${msg}\n`);

protocol.registerSchemesAsPrivileged([CONSOLE_SCHEME_PRIVILEGES]);
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  start();
}

function start(): void {
  const userData = app.getPath('userData');
  const hostSecret = generateHostSecret();
  const natsServer = bundledNatsServer({
    packaged: app.isPackaged,
    resourcesPath: process.resourcesPath,
    sourceResources: path.join(app.getAppPath(), 'resources'),
    platform: process.platform,
    arch: process.arch,
    exists: fs.existsSync,
  });
  const host = createHostLauncher({
    forkProcess: forkWithUtilityProcess(utilityProcess),
    serverEntry: path.join(outDir, 'main/server.js'),
    dataDir: path.join(userData, 'ams'),
    secret: hostSecret,
    env: hostAmsEnvironment(process.env, natsServer),
    // The sample agents (<resources>/agents) are copied into the AMS's agents directory on its first run.
    extraArgs: ['--resources-dir', app.isPackaged ? process.resourcesPath : path.join(app.getAppPath(), 'resources')],
    onLog: (line) => process.stderr.write(`[ams] ${line}\n`),
  });
  const profiles = createProfileStore({ dir: userData, onCorruptFile: (i) => log(`profiles file unreadable (${i.reason}); kept as ${i.movedTo}`) });
  const credentials = createCredentialStore({ AsyncEntry });
  const connection = createConnectionManager({ profiles, credentials, host, hostSecret, onError: (what, err) => log(`${what}: ${(err as Error).message}`) });
  const preferences = createPreferencesStore({ dir: userData });

  let mainWindow: BrowserWindow | null = null;
  let tray: FleetTray | null = null;
  let fleet: FleetCounts | null = null;

  const showWindow = () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  };
  const notifier = createAlertNotifier({
    Notification,
    isSupported: () => Notification.isSupported(),
    settings: () => preferences.notifications(),
    onClick: (alert) => {
      showWindow();
      sendEvent(mainWindow?.webContents ?? null, alertClicked, alert);
    },
  });
  const refreshChrome = () => {
    const info = connection.info();
    const indicator = fleetHealthIndicator(info.amsUrl ? fleet : null);
    tray?.update(indicator);
    const template = buildAppMenuTemplate({
      platform: process.platform,
      appName: app.getName(),
      fleetLabel: indicator.label,
      profiles: profiles.list().profiles,
      activeProfileId: info.profile?.id ?? null,
      devTools: !app.isPackaged,
      onSwitchProfile: (id) => void connection.activate(id).catch((err) => log(`switching profile: ${(err as Error).message}`)),
      onManageProfiles: () => {
        showWindow();
        sendEvent(mainWindow?.webContents ?? null, menuCommand, 'manage-profiles');
      },
    });
    Menu.setApplicationMenu(Menu.buildFromTemplate(template));
  };
  connection.onChange((info) => {
    if (!info.amsUrl) fleet = null;
    sendEvent(mainWindow?.webContents ?? null, connectionChanged, info);
    refreshChrome();
  });

  // Only ever called with http(s) URLs that decideWindowOpen let through (windows/security.ts).
  const openExternal = (url: string) => shell.openExternal(url);
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, openExternal));
  app.on('second-instance', showWindow);

  app.whenReady().then(
    async () => {
      app.setAboutPanelOptions({ applicationName: 'OPMAS Console', applicationVersion: app.getVersion() });
      const consoleSession = session.fromPartition(CONSOLE_PARTITION);
      hardenSession(consoleSession);
      consoleSession.protocol.handle(
        CONSOLE_SCHEME,
        createConsoleProtocolHandler({
          rendererDir: path.join(outDir, 'renderer'),
          amsUrl: () => connection.info().amsUrl,
          hostMode: () => connection.info().profile?.mode === 'host',
          fetch: ((input: string | Request, init?: RequestInit) => consoleSession.fetch(input, init)) as typeof fetch,
        }),
      );
      registerConsoleIpc({
        ipcMain,
        isTrustedSender: (event) => isTrustedSender(event, mainWindow && !mainWindow.isDestroyed() ? mainWindow.webContents.id : null),
        onUnexpectedError: (channel, err) => log(`IPC ${channel} failed: ${(err as Error)?.stack ?? err}`),
        appInfo: () => ({
          name: app.getName(),
          version: app.getVersion(),
          electron: process.versions.electron,
          chrome: process.versions.chrome,
          node: process.versions.node,
          platform: process.platform,
          arch: process.arch,
        }),
        connection,
        profiles,
        preferences,
        notifier,
        notificationsSupported: () => Notification.isSupported(),
        onFleetHealth: (counts) => {
          fleet = counts;
          refreshChrome();
        },
      });
      const openWindow = () => {
        mainWindow = createMainWindow({
          BrowserWindow,
          session: consoleSession,
          openExternal,
          preloadPath: path.join(outDir, 'preload/index.cjs'),
        });
        mainWindow.on('closed', () => (mainWindow = null));
      };
      openWindow();
      // macOS: clicking the dock icon with no window open brings one back.
      app.on('activate', () => (mainWindow ? showWindow() : openWindow()));
      try {
        tray = createFleetTray({ Tray, Menu, nativeImage, onOpen: showWindow, onQuit: () => app.quit() }, fleetHealthIndicator(null));
      } catch (err) {
        log(`no tray icon on this desktop: ${(err as Error).message}`);
      }
      refreshChrome();
      await connection.openStartup();
    },
    (err) => {
      log(`failed to start: ${(err as Error)?.stack ?? err}`);
      app.exit(1);
    },
  );

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Stop the bundled AMS gracefully before the app exits.
  let shutDown = false;
  app.on('before-quit', (event) => {
    if (shutDown) return;
    event.preventDefault();
    shutDown = true;
    tray?.destroy();
    void connection
      .shutdown()
      .catch((err) => log(`stopping the bundled AMS: ${(err as Error).message}`))
      .finally(() => app.quit());
  });
}
