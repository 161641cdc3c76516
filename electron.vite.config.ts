import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import { buildAgentSdk } from './scripts/build-agent-sdk';

// Builds the three runtimes into out/: main (Electron main + the AMS server entry that host
// mode forks), preload (sandboxed, CommonJS) and the renderer (also served by the AMS as the
// web console). Dependencies stay external so the server runs from node_modules. The agent SDK
// is bundled with its dependencies into out/agent-sdk/index.mjs after main, for agent processes.
export default defineConfig({
  main: {
    plugins: [{ name: 'opmas-agent-sdk', apply: 'build', closeBundle: () => buildAgentSdk(resolve(__dirname, 'out/agent-sdk'), __dirname).then(() => undefined) }],
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
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rolldownOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
