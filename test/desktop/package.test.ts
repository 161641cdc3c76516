// The packaged app (electron-builder --dir --linux, the one target that builds offline) holds
// everything host mode needs, and the AMS inside it runs: the package's own server entry,
// node_modules and renderer, started through the host launcher with plain Node.
// Electron's binary cannot be downloaded here, so electronDist points at a stand-in folder
// whose `electron` is a shell script; nothing in these checks executes it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkWithNode } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret } from '../../src-main/host/host-launcher.js';
import { REPO_ROOT, removeTempDirs, tempDir } from './helpers.js';

const require = createRequire(import.meta.url);
const asar = require('@electron/asar') as { listPackage(p: string, o: object): string[]; extractAll(p: string, dest: string): void };
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const electronVersion = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;

let appDir: string;
let resources: string;
let asarFiles: Set<string>;

beforeAll(() => {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: REPO_ROOT, stdio: 'pipe' });
  const electronDist = tempDir('opmas-electron-dist-');
  fs.writeFileSync(path.join(electronDist, 'electron'), '#!/bin/sh\necho "stand-in for the Electron binary" >&2\nexit 1\n', { mode: 0o755 });
  fs.writeFileSync(path.join(electronDist, 'LICENSE'), 'stand-in\n');
  const output = tempDir('opmas-release-');
  execFileSync(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules/electron-builder/cli.js'),
      '--dir',
      '--linux',
      '--x64',
      '--publish',
      'never',
      `-c.electronDist=${electronDist}`,
      `-c.electronVersion=${electronVersion}`,
      `-c.directories.output=${output}`,
    ],
    { cwd: REPO_ROOT, stdio: 'pipe', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', CI: '1' } },
  );
  appDir = path.join(output, 'linux-unpacked');
  resources = path.join(appDir, 'resources');
  asarFiles = new Set(asar.listPackage(path.join(resources, 'app.asar'), {}).map((f) => f.split(path.sep).join('/')));
}, 300_000);
afterAll(removeTempDirs);

const inAsar = (p: string) => asarFiles.has(p);
const unpacked = (p: string) => fs.existsSync(path.join(resources, 'app.asar.unpacked', p));

describe('unpacked Linux package', () => {
  it('has the app executable and the built main, preload, renderer and AMS entry', () => {
    expect(fs.statSync(path.join(appDir, 'opmas-console')).mode & 0o111).not.toBe(0);
    for (const f of ['/out/main/index.js', '/out/main/server.js', '/out/preload/index.cjs', '/out/renderer/index.html', '/package.json']) expect(inAsar(f), f).toBe(true);
    // The migrated PGlite database a first start loads, with its manifest.
    for (const f of ['/out/main/pglite-template.tgz', '/out/main/pglite-template.json']) expect(inAsar(f), f).toBe(true);
    // Every asset the renderer's page loads is in the package.
    const html = fs.readFileSync(path.join(REPO_ROOT, 'out/renderer/index.html'), 'utf8');
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?(assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) expect(inAsar(`/out/renderer/${a}`), a).toBe(true);
    expect([...asarFiles].filter((f) => f.endsWith('.map'))).toEqual([]);
    expect([...asarFiles].some((f) => f.startsWith('/src-') || f.startsWith('/server/') || f.startsWith('/test/'))).toBe(false);
  });

  it('carries every runtime dependency and no development tooling', () => {
    for (const dep of Object.keys(pkg.dependencies)) expect(inAsar(`/node_modules/${dep}/package.json`) || unpacked(`node_modules/${dep}/package.json`), dep).toBe(true);
    for (const dep of ['knex', 'pg', '@electric-sql/pglite', 'koa', '@napi-rs/keyring']) expect(Object.keys(pkg.dependencies)).toContain(dep);
    for (const dev of ['electron', 'vitest', 'typescript', 'electron-builder', '@doyensec/electronegativity']) expect(inAsar(`/node_modules/${dev}/package.json`), dev).toBe(false);
    // Files that must be real files on disk: PGlite's WebAssembly and the keychain's native binding.
    expect(fs.readdirSync(path.join(resources, 'app.asar.unpacked/node_modules/@electric-sql/pglite/dist')).some((f) => f.endsWith('.wasm'))).toBe(true);
    const native = fs.readdirSync(path.join(resources, 'app.asar.unpacked/node_modules/@napi-rs')).flatMap((d) => fs.readdirSync(path.join(resources, 'app.asar.unpacked/node_modules/@napi-rs', d)));
    expect(native.some((f) => /^keyring\.linux-x64-gnu\.node$/.test(f))).toBe(true);
  });

  it('carries the sample agents and the per-platform binaries folder unpacked', () => {
    const sourceAgents = path.join(REPO_ROOT, 'resources/agents');
    const shipped = (dir: string) =>
      (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
        .sort();
    expect(fs.statSync(path.join(resources, 'agents')).isDirectory()).toBe(true);
    expect(shipped(path.join(resources, 'agents'))).toEqual(shipped(sourceAgents));
    const sourceBin = path.join(REPO_ROOT, 'resources/bin/linux-x64');
    const binaries = shipped(sourceBin);
    if (binaries.length > 0) expect(shipped(path.join(resources, 'bin'))).toEqual(binaries);
    else expect(fs.existsSync(path.join(resources, 'bin', 'nats-server'))).toBe(false);
  });

  it('runs host mode from the package: the packaged AMS starts from its shipped database, serves the console and stops; the next start opens it', async () => {
    // Node cannot read an asar; lay the package out on disk as Electron would see it.
    const app = tempDir('opmas-packaged-app-');
    asar.extractAll(path.join(resources, 'app.asar'), app);
    fs.cpSync(path.join(resources, 'app.asar.unpacked'), app, { recursive: true });
    expect(JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8')).main).toBe(pkg.main);

    const dataDir = tempDir('opmas-packaged-data-');
    const host = createHostLauncher({
      forkProcess: forkWithNode,
      serverEntry: path.join(app, 'out/main/server.js'),
      dataDir,
      secret: generateHostSecret(),
      env: { PATH: process.env.PATH, HOME: dataDir, TMPDIR: tempDir('opmas-tmp-') },
      // As src-main/index.ts passes it: the packaged app's resources folder.
      extraArgs: ['--resources-dir', resources],
    });
    type Health = { components: { database: { status: string }; ams: { startup: { database: string; phases: Record<string, { ms: number }> } } } };
    try {
      const url = await host.start();
      const health = await fetch(`${url}/api/v1/health`);
      expect(health.status).toBe(200);
      const body = (await health.json()) as Health;
      expect(body.components.database.status).toBe('ok');
      expect(body.components.ams.startup.database).toBe('template');
      expect(Object.keys(body.components.ams.startup.phases)).toEqual(expect.arrayContaining(['broker', 'database_open', 'migrations', 'first_scan']));
      const page = await fetch(`${url}/`);
      expect(await page.text()).toContain('<title>OPMAS Console</title>');
      const openapi = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(openapi.paths)).toContain('/api/v1/agents');
      // First run: the sample agents the package carries are in the new agents directory.
      expect(fs.readdirSync(path.join(dataDir, 'agents')).sort()).toEqual(fs.readdirSync(path.join(resources, 'agents')).filter((f) => !f.startsWith('.') && fs.statSync(path.join(resources, 'agents', f)).isDirectory()).sort());
      expect(fs.existsSync(path.join(dataDir, 'agents/security/.env.discovery'))).toBe(true);
    } finally {
      await host.stop();
    }
    expect(host.state().status).toBe('stopped');
    expect(fs.existsSync(path.join(dataDir, 'ams.lock'))).toBe(false);
    // The second start opens the database the first one made.
    try {
      const url = await host.start();
      const again = (await (await fetch(`${url}/api/v1/health`)).json()) as Health;
      expect(again.components.ams.startup.database).toBe('opened');
    } finally {
      await host.stop();
    }
  });
});
