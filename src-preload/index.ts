// The preload (sandboxed, CommonJS): exposes window.opmas, one object of named verbs built
// from the declared IPC channels. No raw ipcRenderer reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import { createOpmasApi } from './api.js';

contextBridge.exposeInMainWorld('opmas', createOpmasApi(ipcRenderer));
