// The preload exposes named verbs only (no raw IPC). Grows with the desktop issue.
import { contextBridge, ipcRenderer } from 'electron';

const opmas = {
  app: {
    info: (): Promise<{ version: string; mode: string; amsUrl: string | null }> => ipcRenderer.invoke('console:app-info'),
  },
};

contextBridge.exposeInMainWorld('opmas', opmas);

export type OpmasBridge = typeof opmas;
