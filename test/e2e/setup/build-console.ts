// Once per e2e run: builds the app exactly as `npm run build` does (electron-vite), so the
// tests drive the renderer bundle that ships; the AMS of each suite serves out/renderer.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    consoleDir: string;
  }
}

const root = path.resolve(import.meta.dirname, '../../..');

export default function setup(project: TestProject) {
  const consoleDir = path.join(root, 'out/renderer');
  // OPMAS_E2E_SKIP_BUILD=1 reuses a build made just before (the benchmarks build once for both).
  if (process.env.OPMAS_E2E_SKIP_BUILD !== '1' || !fs.existsSync(path.join(consoleDir, 'index.html'))) {
    const res = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    if (res.status !== 0) throw new Error(`electron-vite build failed:\n${res.stdout}\n${res.stderr}`);
  }
  project.provide('consoleDir', consoleDir);
}
