#!/usr/bin/env node
// `npm start`: builds the app, then runs the desktop console hosting the bundled AMS. Where
// Electron's binary is absent (offline installs), says so in one line and serves the same
// console from the AMS as a web page instead.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const root = path.resolve(import.meta.dirname, '..');
// `--web` (or OPMAS_CONSOLE_WEB=1) serves the web console even where Electron is installed.
const forceWeb = process.argv.includes('--web') || process.env.OPMAS_CONSOLE_WEB === '1';
const args = process.argv.slice(2).filter((a) => a !== '--web');

const build = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (build.status !== 0) {
  console.error('opmas: the build failed; see the errors above');
  process.exit(build.status ?? 1);
}

function electronBinary() {
  try {
    const bin = createRequire(import.meta.url)('electron');
    return typeof bin === 'string' && fs.existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const electron = forceWeb ? undefined : electronBinary();
let child;
if (electron) {
  child = spawn(electron, [root, ...args], { cwd: root, stdio: 'inherit' });
} else {
  console.log(
    forceWeb
      ? 'opmas: serving the console as a web page (--web).'
      : "opmas: Electron's binary is not installed (offline install); serving the console as a web page instead.",
  );
  child = spawn(process.execPath, [path.join(root, 'out/main/server.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  // On a terminal the AMS's own startup block names the console URL (with the data and agents
  // directories); for a program reading stdout, one line says where the console is.
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return void console.log(line);
    }
    if (msg?.event === 'ready' && !process.stderr.isTTY) console.log(`opmas: console at ${msg.url}/`);
  });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(signal ? 0 : (code ?? 0)));
