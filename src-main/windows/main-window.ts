// The console window and the hardening every web contents and the console's session get.
// Thin on purpose: each decision comes from security.ts (tested in Node); this file only
// hands Electron's events to those functions.
import type { BrowserWindow as ElectronBrowserWindow, Session, WebContents } from 'electron';
import { CONSOLE_START_URL, decideNavigation, decideWindowOpen, isPermissionAllowed } from './security.js';

export interface MainWindowDeps {
  BrowserWindow: typeof ElectronBrowserWindow;
  /** The console's own session (partition), already hardened with hardenSession. */
  session: Session;
  openExternal: (url: string) => Promise<void>;
  preloadPath: string;
}

export function createMainWindow(deps: MainWindowDeps): ElectronBrowserWindow {
  // A plain identifier, so static checks (electronegativity) recognise the constructor.
  const { BrowserWindow } = deps;
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'OPMAS Console',
    // The Electron security checklist, spelled out (and inline, so electronegativity reads it).
    webPreferences: {
      preload: deps.preloadPath,
      session: deps.session,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      // Middle-click opens nothing (setWindowOpenHandler would deny it anyway).
      disableBlinkFeatures: 'Auxclick',
    },
  });
  hardenWebContents(win.webContents, deps.openExternal);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(CONSOLE_START_URL);
  return win;
}

/** For every web contents the app creates (app 'web-contents-created'): no navigation away, no new windows, no webviews. */
export function hardenWebContents(contents: WebContents, openExternal: (url: string) => Promise<void>): void {
  contents.on('will-navigate', (event) => {
    if (decideNavigation(event.url).action === 'deny') event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (decideNavigation(event.url).action === 'deny') event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler((details) => {
    const decision = decideWindowOpen(details);
    if (decision.openExternal) void openExternal(decision.openExternal).catch(() => undefined);
    return { action: 'deny' };
  });
}

/**
 * The console session: notifications for the console's pages, every other permission denied.
 * The CSP travels with each console response (console-protocol.ts), and the window never shows
 * a page from the AMS origin (navigation is denied), so no onHeadersReceived rewrite is needed.
 */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => callback(isPermissionAllowed(permission, details.requestingUrl)));
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => isPermissionAllowed(permission, requestingOrigin));
  session.setDevicePermissionHandler(() => false);
}
