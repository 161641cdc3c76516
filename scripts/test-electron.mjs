#!/usr/bin/env node
// `npm run test:electron`: the packaged desktop app, launched for real through Playwright's
// Electron driver (playwright-core). Host mode: the first-run screen, the bundled AMS with the
// sample agents, one started; quitting ends the AMS and its agents. Attach mode: an AMS this
// script starts, signed in to with a password. It needs Electron's binary and a package made by
// electron-builder (release/<platform>-unpacked or the mac .app): the release workflow runs it
// on Linux (under xvfb), Windows and macOS. Not part of `npm test`: no machine here has Electron.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { _electron as electron } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..');
const fail = (line) => {
  console.error(`test:electron: ${line}`);
  process.exit(1);
};

function electronInstalled() {
  try {
    const bin = createRequire(import.meta.url)('electron');
    return typeof bin === 'string' && fs.existsSync(bin);
  } catch {
    return false;
  }
}

/** The packaged app's executable, as electron-builder leaves it under release/ (or OPMAS_PACKAGED_APP). */
function packagedApp() {
  if (process.env.OPMAS_PACKAGED_APP) return process.env.OPMAS_PACKAGED_APP;
  const release = path.join(root, 'release');
  const candidates = {
    linux: [path.join(release, 'linux-unpacked/opmas-console'), path.join(release, 'linux-arm64-unpacked/opmas-console')],
    win32: [path.join(release, 'win-unpacked/OPMAS Console.exe'), path.join(release, 'win-arm64-unpacked/OPMAS Console.exe')],
    darwin: ['mac-arm64', 'mac', 'mac-universal'].map((d) => path.join(release, d, 'OPMAS Console.app/Contents/MacOS/OPMAS Console')),
  }[process.platform] ?? [];
  return candidates.find((c) => fs.existsSync(c));
}

if (!electronInstalled()) fail("Electron's binary is not installed here (offline install with ELECTRON_SKIP_BINARY_DOWNLOAD=1), so the desktop app cannot be launched; the release workflow runs this test.");
const executable = packagedApp();
if (!executable) fail('no packaged app under release/: run `npm run build && npx electron-builder --dir` first (or set OPMAS_PACKAGED_APP).');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-electron-'));
/** A fresh per-user folder for each launch: Electron's userData lives under these on every OS. */
function freshUserEnv(name) {
  const home = path.join(work, name);
  fs.mkdirSync(home, { recursive: true });
  return { ...process.env, HOME: home, USERPROFILE: home, APPDATA: path.join(home, 'AppData'), XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local/share') };
}

async function eventually(fn, ok, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch((err) => err);
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String(v instanceof Error ? v.message : JSON.stringify(v)).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Calls the AMS from inside the window with the session the app holds (its bridge hands out
 * the token), through the console's own /api proxy as the renderer does.
 */
const amsGet = (page, p) =>
  page.evaluate(async (p) => {
    const token = await window.opmas.connection.accessToken();
    const res = await fetch(p, { headers: { Authorization: `Bearer ${token.value}` } });
    return res.json();
  }, p);

async function launch(name) {
  const app = await electron.launch({ executablePath: executable, env: freshUserEnv(name), timeout: 120_000 });
  const page = await app.firstWindow();
  page.setDefaultTimeout(90_000);
  return { app, page };
}

async function hostMode() {
  const { app, page } = await launch('host');
  await page.getByRole('heading', { name: 'Welcome to OPMAS Console' }).waitFor();
  await page.getByLabel(/^Host mode/).check();
  await page.getByRole('button', { name: 'Create and connect' }).click();
  // The bundled AMS starts, signs the console in, and its first run copied the sample agents.
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  for (const agent of ['SecurityAgent', 'WifiAgent']) await page.getByRole('link', { name: agent }).waitFor();
  await page.getByLabel('Select SecurityAgent').check();
  await page.getByRole('button', { name: 'Start…', exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Start 1 agent' }).click();
  const row = page.locator('.fleet-row', { has: page.getByRole('link', { name: 'SecurityAgent' }) });
  await eventually(() => row.locator('.col-status').innerText(), (s) => s === 'Running', 'SecurityAgent running');
  const health = await amsGet(page, '/api/v1/health');
  const amsPid = health.components.ams.pid;
  const agents = await amsGet(page, '/api/v1/agents?q=SecurityAgent');
  const status = await amsGet(page, `/api/v1/agents/${agents.items[0].id}/status`);
  const agentPid = status.pid;
  if (!alive(amsPid) || !alive(agentPid)) throw new Error(`expected the AMS (${amsPid}) and the agent (${agentPid}) to run`);
  await app.close();
  await eventually(async () => [alive(amsPid), alive(agentPid)], ([a, b]) => !a && !b, 'the AMS and its agent to end after quitting', 30_000);
  console.log(`host mode: dashboard with the sample agents, SecurityAgent started; after quitting, the AMS (pid ${amsPid}) and the agent (pid ${agentPid}) are gone`);
}

/** An AMS of our own for attach mode: the built entry, a fresh data dir, an admin password. */
async function startAms(password) {
  const entry = path.join(root, 'out/main/server.js');
  if (!fs.existsSync(entry)) fail('out/main/server.js is missing: run `npm run build` first.');
  const child = spawn(process.execPath, [entry, '--port', '0', '--data-dir', path.join(work, 'attach-ams'), '--log-format', 'json'], {
    env: { ...process.env, OPMAS_ADMIN_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const msg = JSON.parse(line);
        if (msg.event === 'ready') resolve(msg.url);
      } catch {
        // not the ready line
      }
    });
    child.once('exit', (code) => reject(new Error(`the AMS exited with ${code} before it was ready`)));
  });
  return { child, url };
}

async function attachMode() {
  const password = `pw-${Math.random().toString(36).slice(2)}-electron`;
  const ams = await startAms(password);
  try {
    const { app, page } = await launch('attach');
    await page.getByRole('heading', { name: 'Welcome to OPMAS Console' }).waitFor();
    await page.getByLabel(/^Attach mode/).check();
    await page.getByLabel('Name').fill('Test AMS');
    await page.getByLabel('AMS URL').fill(ams.url);
    await page.getByRole('button', { name: 'Create and connect' }).click();
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.getByRole('link', { name: 'SecurityAgent' }).waitFor();
    await app.close();
    if (ams.child.exitCode !== null) throw new Error('the attached AMS must outlive the app');
    console.log(`attach mode: signed in to ${ams.url} and saw its agents; the AMS keeps running after the app quits`);
  } finally {
    ams.child.kill('SIGTERM');
    await new Promise((r) => (ams.child.exitCode !== null ? r() : ams.child.once('exit', r)));
  }
}

try {
  await hostMode();
  await attachMode();
  console.log('test:electron: passed');
} catch (err) {
  console.error(`test:electron: failed: ${err?.stack ?? err}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(work, { recursive: true, force: true, maxRetries: 3 });
}
