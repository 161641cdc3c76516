import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import { buildAgentSdk } from './scripts/build-agent-sdk';
import { buildPgliteTemplate } from './scripts/build-pglite-template';

// Builds the three runtimes into out/: main (Electron main + the AMS server entry that host
// mode forks), preload (sandboxed, CommonJS) and the renderer (also served by the AMS as the
// web console). Dependencies stay external so the server runs from node_modules. The agent SDK
// is bundled with its dependencies into out/agent-sdk/index.mjs after main, for agent processes,
// and the migrated PGlite database a first start loads goes to out/main/pglite-template.tgz.
export default defineConfig({
  main: {
    plugins: [
      { name: 'opmas-agent-sdk', apply: 'build', closeBundle: () => buildAgentSdk(resolve(__dirname, 'out/agent-sdk'), __dirname).then(() => undefined) },
      { name: 'opmas-pglite-template', apply: 'build', closeBundle: () => buildPgliteTemplate(resolve(__dirname, 'out/main'), __dirname).then(() => undefined) },
    ],
    build: {
      outDir: 'out/main',
      lib: { entry: { index: resolve(__dirname, 'src-main/index.ts'), server: resolve(__dirname, 'server/main.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      lib: { entry: resolve(__dirname, 'src-preload/index.ts') },
      rolldownOptions: { output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    // Absolute asset URLs: the console's client-side routes (/agents/<id>/logs) load the same
    // index.html, from the AMS (web console) and from opmas://console/ alike. electron-vite
    // forces './' (for file:// pages) in a pre hook; this runs after it.
    plugins: [react(), { name: 'opmas-absolute-base', enforce: 'post', config: () => ({ base: '/' }) }],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      minify: true,
      rolldownOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
