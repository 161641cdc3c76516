// Electron main: wires the modules together; nothing else. Grows with the desktop issue.
import path from 'node:path';
import { app, BrowserWindow, ipcMain } from 'electron';
import { startHostedAms, type HostedAms } from './host/hosted-ams.js';

let hosted: HostedAms | undefined;

async function createWindow(): Promise<void> {
  hosted = await startHostedAms({ serverEntry: path.join(import.meta.dirname, 'server.js'), dataDir: app.getPath('userData') });
  ipcMain.handle('console:app-info', () => ({ version: app.getVersion(), mode: 'host', amsUrl: hosted?.url ?? null }));
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    show: false,
    webPreferences: {
      preload: path.join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.once('ready-to-show', () => win.show());
  await win.loadURL(hosted.url);
}

app.whenReady().then(createWindow, (err) => {
  console.error(err);
  app.exit(1);
});
app.on('window-all-closed', () => app.quit());
app.on('before-quit', (event) => {
  if (!hosted) return;
  event.preventDefault();
  const stopping = hosted;
  hosted = undefined;
  void stopping.stop().finally(() => app.quit());
});
