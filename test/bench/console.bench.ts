// Console benchmarks in Chromium (playwright-core, the Debian package):
//  1. dashboard with 100,000 agents on a real AMS (PGlite): time from the agent list's arrival
//     (the last page's responseEnd) to the frame that shows all of them, and the main thread
//     while 10,000 status events/s stream in for 10 s through the AMS's real WebSocket
//     (published on its event bus, as the supervisor does);
//  2. a metrics chart of 7 days of 10 s samples (60,480 points × 4 series), and the fleet
//     overview's agents-by-state chart over 7 days (its 10 min step: 1,008 points × 6 series):
//     the console's components beside bare uPlot with the same options and arrays, same page;
//  3. host mode cold start: the host launcher (src-main/host, child_process.fork as the Node
//     stand-in for Electron's main process) starting the built AMS, to the dashboard's first
//     data, on a fresh data dir and on a warm one.
// Figures are printed beside their baselines; nothing is asserted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startAms, type RunningAms } from '../../server/ams.js';
import { parseSettings } from '../../server/settings.js';
import { forkWithNode } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret } from '../../src-main/host/host-launcher.js';
import { quick, request, seedFleet, stats, type Row, type Stats } from './lib.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const RENDERER = path.join(REPO, 'out/renderer');
const CHROMIUM = process.env.OPMAS_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'bench-password-not-secret';
/** BENCH_CONSOLE_AGENTS overrides the fleet size (default 100,000). */
const AGENTS = Number(process.env.BENCH_CONSOLE_AGENTS ?? 100_000);
/** Status events per second through the WebSocket (BENCH_CONSOLE_EVENTS_PER_S, default 10,000). */
const EVENTS_PER_S = Number(process.env.BENCH_CONSOLE_EVENTS_PER_S ?? 10_000);

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function browser(): Promise<{ browser: Browser; context: BrowserContext; page: Page; close(): Promise<void> }> {
  const dir = tempDir('opmas-bench-chromium-');
  const instance = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: dir } });
  const context = await instance.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  return {
    browser: instance,
    context,
    page,
    async close() {
      await instance.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const single = (ms: number): Stats => stats([ms]);

// ---------------------------------------------------------------------------------------------
// 1. Dashboard with 100,000 agents

/** In the page before any script: marks when the whole fleet is on screen, long tasks and frame gaps. */
const DASHBOARD_PROBE = `
(() => {
  const b = (window.__bench = { allShownAt: null, firstRowsAt: null, longTasks: [], frames: [], recording: false });
  const afterPaint = (key) => requestAnimationFrame(() => setTimeout(() => { b[key] = performance.now(); }, 0));
  new MutationObserver(() => {
    if (b.firstRowsAt === null && b.firstRowsPending !== true && document.querySelector('.fleet-scroll .agent-link')) {
      b.firstRowsPending = true;
      afterPaint('firstRowsAt');
    }
    const total = document.querySelector('[data-testid=fleet-total]');
    if (b.allShownAt === null && b.allPending !== true && total && total.textContent === '${AGENTS.toLocaleString('en-US')} agents' && document.querySelector('.fleet-scroll .agent-link')) {
      b.allPending = true;
      afterPaint('allShownAt');
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (b.recording) b.longTasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: false });
  let last = null;
  const frame = (t) => {
    if (b.recording && last !== null) b.frames.push(t - last);
    last = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
`;

interface DashboardRun {
  firstResponseEnd: number;
  lastResponseEnd: number;
  firstRowsAt: number;
  allShownAt: number;
  pages: number;
}

async function readDashboardRun(page: Page): Promise<DashboardRun> {
  // Function predicates: the console's CSP forbids the eval a string predicate needs.
  try {
    await page.waitForFunction(() => {
      const b = (globalThis as any).__bench;
      return b && b.allShownAt !== null && b.firstRowsAt !== null;
    }, undefined, { timeout: 120_000 });
  } catch (err) {
    const seen = await page.evaluate<string>('JSON.stringify({ bench: window.__bench, total: document.querySelector("[data-testid=fleet-total]")?.textContent, body: document.body.innerText.slice(0, 300) })');
    throw new Error(`the dashboard never showed the whole fleet: ${seen}`, { cause: err });
  }
  return page.evaluate<DashboardRun>(`(() => {
    const pages = performance.getEntriesByType('resource').filter((e) => /\\/api\\/v1\\/agents\\?/.test(e.name));
    return {
      firstResponseEnd: Math.min(...pages.map((e) => e.responseEnd)),
      lastResponseEnd: Math.max(...pages.map((e) => e.responseEnd)),
      firstRowsAt: window.__bench.firstRowsAt,
      allShownAt: window.__bench.allShownAt,
      pages: pages.length,
    };
  })()`);
}

async function seedAgents(ams: RunningAms): Promise<string[]> {
  return seedFleet(ams.db.knex, AGENTS, (i) => ({ process_status: 'running', health_status: i % 7 ? 'healthy' : 'warning' }));
}

async function login(page: Page, url: string) {
  await page.goto(url);
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function benchDashboard(): Promise<{ paint: Row[]; stream: Row[] }> {
  const dataDir = tempDir('opmas-bench-console-');
  const logger = pino({ level: 'warn' }, pino.destination({ dest: path.join(dataDir, 'ams.log'), sync: false }));
  const settings = {
    ...parseSettings(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--static-dir', RENDERER, '--agents-dir', path.join(dataDir, 'agents')], {}),
    rateLimitPerMinute: 10_000_000,
  };
  const ams = await startAms(settings, { logger, env: {}, secrets: { adminPassword: PASSWORD } });
  const b = await browser();
  try {
    const ids = await seedAgents(ams);
    const { page } = b;
    await page.addInitScript(DASHBOARD_PROBE);
    await login(page, ams.url);
    await readDashboardRun(page);

    const runs: DashboardRun[] = [];
    for (let i = 0; i < (quick ? 2 : 6); i++) {
      await page.reload();
      runs.push(await readDashboardRun(page));
    }
    const paint: Row[] = [
      {
        name: `${AGENTS.toLocaleString('en-US')} agents: last page arrived → all shown`,
        s: stats(runs.map((r) => r.allShownAt - r.lastResponseEnd)),
        note: `target < 500 ms; ${runs[0].pages} pages of 500`,
      },
      { name: 'first page arrived → first rows shown', s: stats(runs.map((r) => r.firstRowsAt - r.firstResponseEnd)) },
      { name: `navigation start → all ${AGENTS.toLocaleString('en-US')} shown (whole load)`, s: stats(runs.map((r) => r.allShownAt)), note: `includes sign-in refresh and ${runs[0].pages} API pages` },
    ];

    // The stream: 10,000 status.changed events per second for 10 s, on the AMS's bus → its
    // WebSocket → the console (live), while the long-task observer and frame timer record.
    await page.waitForSelector('[data-testid=connection-state][data-state=live]', { timeout: 30_000 });
    let frames = 0;
    page.on('websocket', (ws) => ws.on('framereceived', () => frames++));
    // The reload above opened the socket before the listener: count through a fresh one.
    await page.reload();
    await readDashboardRun(page);
    await page.waitForSelector('[data-testid=connection-state][data-state=live]', { timeout: 30_000 });
    await page.evaluate('window.__bench.recording = true');
    const seconds = quick ? 5 : 10;
    const perTick = 10;
    let sent = 0;
    let flip = 0;
    const states = ['running', 'degraded'] as const;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(seconds * EVENTS_PER_S, Math.floor(((Date.now() - started) / 1000) * EVENTS_PER_S));
        while (sent < due) {
          const id = ids[(sent * 7919) % ids.length];
          const to = states[flip++ % 2];
          ams.services.events.publish({ type: 'status.changed', agent_id: id, from: to === 'running' ? 'degraded' : 'running', to, event_type: to === 'running' ? 'recovered' : 'degraded', details: { reason: 'bench' } });
          sent++;
        }
        if (sent >= seconds * EVENTS_PER_S) {
          clearInterval(timer);
          resolve();
        }
      }, perTick);
    });
    await new Promise((r) => setTimeout(r, 1000));
    const result = await page.evaluate<{ longTasks: number[]; frames: number[] }>('({ longTasks: window.__bench.longTasks, frames: window.__bench.frames })');
    const longest = result.longTasks.length ? Math.max(...result.longTasks) : 0;
    const stream: Row[] = [
      {
        name: `frame interval while ${EVENTS_PER_S.toLocaleString('en-US')} status events/s stream in (${seconds} s, real WebSocket)`,
        s: stats(result.frames),
        note: `${sent} events published in ${((Date.now() - started) / 1000).toFixed(1)} s, ${frames} WebSocket frames received; longest frame gap ${Math.max(...result.frames).toFixed(1)} ms`,
      },
      {
        name: 'longest main-thread task (PerformanceObserver longtask, > 50 ms only)',
        s: single(longest),
        note: `target: none over 50 ms; ${result.longTasks.length} long task(s)${result.longTasks.length ? `: ${result.longTasks.map((d) => d.toFixed(0)).join(', ')} ms` : ''}`,
      },
    ];
    return { paint, stream };
  } finally {
    await b.close();
    await ams.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Metrics chart: 7 days of 10 s samples × 4 series

async function chartBundle(): Promise<{ js: string; css: string }> {
  const out = await build({
    entryPoints: [path.join(import.meta.dirname, 'console/page/chart-bench.tsx')],
    bundle: true,
    write: false,
    outdir: tempDir('opmas-bench-bundle-'),
    format: 'iife',
    jsx: 'automatic',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const css = out.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  return { js, css };
}

export async function benchChart(): Promise<{ agent: Row[]; fleet: Row[] }> {
  const b = await browser();
  try {
    const { js, css } = await chartBundle();
    const { page } = b;
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addStyleTag({ content: `${css}\n.box { width: 1000px; }` });
    await page.addScriptTag({ content: js });
    const n = quick ? 8 : 25;
    /** Alternates bare and component so neither gets a warmer JIT or GC state. */
    const run = async (kind: 'agent' | 'fleet', points: number, series: number) => {
      const values = await page.evaluate<number, [string, number, number]>(([k, p, s]) => (globalThis as any).chartBench.prepare(k, p, s), [kind, points, series]);
      const bare: number[] = [];
      const comp: number[] = [];
      for (let i = 0; i < 3; i++) {
        await page.evaluate('chartBench.bare()');
        await page.evaluate('chartBench.component()');
      }
      for (let i = 0; i < n; i++) {
        if (i % 2) {
          comp.push(await page.evaluate<number>('chartBench.component()'));
          bare.push(await page.evaluate<number>('chartBench.bare()'));
        } else {
          bare.push(await page.evaluate<number>('chartBench.bare()'));
          comp.push(await page.evaluate<number>('chartBench.component()'));
        }
      }
      return { values, bare: stats(bare), comp: stats(comp) };
    };
    const agentPoints = 7 * 8640;
    const a = await run('agent', agentPoints, 4);
    const fleetPoints = 7 * 144;
    const f = await run('fleet', fleetPoints, 6);
    return {
      agent: [
        { name: `bare uPlot, ${agentPoints.toLocaleString('en-US')} points × 4 series (baseline)`, s: a.bare, note: `${a.values.toLocaleString('en-US')} values` },
        { name: 'console chart component (UPlotChart), same options and arrays', s: a.comp, base: a.bare, note: 'target within 1.2× of bare uPlot' },
      ],
      fleet: [
        { name: `bare uPlot, fleet overview agents-by-state, 7 days (${fleetPoints.toLocaleString('en-US')} points × 6 series) (baseline)`, s: f.bare, note: `${f.values.toLocaleString('en-US')} values` },
        { name: 'fleet overview chart (OverviewChart), same options and arrays', s: f.comp, base: f.bare, note: 'target within 1.2× of bare uPlot' },
      ],
    };
  } finally {
    await b.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Host mode cold start

export async function benchColdStart(): Promise<Row[]> {
  const serverEntry = path.join(REPO, 'out/main/server.js');
  const b = await browser();
  const agentsDir = tempDir('opmas-bench-agents-');
  fs.cpSync(path.join(REPO, 'resources/agents'), agentsDir, { recursive: true });
  const expected = fs.readdirSync(agentsDir).filter((n) => fs.existsSync(path.join(agentsDir, n, '.env.discovery'))).length;
  const dirs: string[] = [];
  // Baselines measured in the same rounds: the same build without the shipped database (a first
  // start creates and migrates one, as before the template), and a Node entry that only says
  // it is ready (what forking Node costs the launcher, the floor under any AMS start). The build
  // is copied inside the repository so that its imports still find node_modules.
  const noTemplateDir = path.join(REPO, 'out/bench-no-template');
  fs.rmSync(noTemplateDir, { recursive: true, force: true });
  fs.cpSync(path.join(REPO, 'out/main'), noTemplateDir, { recursive: true, filter: (f) => !/pglite-template\.(tgz|json)$/.test(f) });
  const floorDir = tempDir('opmas-bench-floor-');
  const floorEntry = path.join(floorDir, 'ready.mjs');
  fs.writeFileSync(
    floorEntry,
    [
      "const ready = { event: 'ready', url: 'http://127.0.0.1:9/', pid: process.pid };",
      'process.stdout.write(`${JSON.stringify(ready)}\\n`);',
      'process.send?.(ready);',
      'process.parentPort?.postMessage(ready);',
      "const bye = () => process.exit(0);",
      "process.on('SIGTERM', bye);",
      "process.on('message', (m) => m && m.event === 'shutdown' && bye());",
      'setInterval(() => undefined, 60_000);',
    ].join('\n'),
  );

  function launcherFor(entry: string, dataDir: string, secret: string) {
    return createHostLauncher({
      forkProcess: forkWithNode,
      serverEntry: entry,
      dataDir,
      secret,
      env: { ...process.env, TMPDIR: os.tmpdir() },
      extraArgs: ['--static-dir', RENDERER, '--agents-dir', agentsDir, '--log-level', 'warn'],
    });
  }

  /** A new browser context: nothing cached from an earlier load. */
  const newPage = async () => {
    const context = await b.browser.newContext({ viewport: { width: 1280, height: 800 } });
    return { page: await context.newPage(), close: () => context.close() };
  };

  /** The console with the host session on a page made beforehand: page load → first data on screen. */
  async function consoleFirstData(url: string, refreshToken: string, made: Awaited<ReturnType<typeof newPage>>): Promise<number> {
    const { page } = made;
    try {
      await page.addInitScript(`sessionStorage.setItem('opmas.session', ${JSON.stringify(JSON.stringify({ refresh_token: refreshToken, username: 'local-admin' }))})`);
      const t0 = performance.now();
      await page.goto(url);
      await page.waitForFunction(
        (n) => {
          const doc = (globalThis as any).document;
          const t = doc.querySelector('[data-testid=fleet-total]');
          return !!t && /^\d+ agents?$/.test(t.textContent) && doc.querySelectorAll('.fleet-scroll .agent-link').length >= n;
        },
        expected,
        { timeout: 120_000, polling: 'raf' },
      );
      return performance.now() - t0;
    } finally {
      await made.close();
    }
  }

  interface Start {
    readyMs: number;
    firstDataMs: number;
    phases: Record<string, { at_ms: number; ms: number }>;
    amsMs: number;
    database: string;
    /** The console loaded again on the AMS now running: page load → first data. */
    reloadMs?: number;
  }

  /** One start: launcher → ready → host session (as the main process does) → console → first data on screen. */
  async function once(entry: string, dataDir: string, opts: { reload?: boolean } = {}): Promise<Start> {
    const secret = generateHostSecret();
    const launcher = launcherFor(entry, dataDir, secret);
    const page = await newPage();
    try {
      const t0 = performance.now();
      const url = await launcher.start();
      const readyMs = performance.now() - t0;
      const tokens = JSON.parse(await request(`${url}/api/v1/auth/host-session`, 'POST', { secret }));
      const started = JSON.parse(await request(`${url}/api/v1/health`)).components.ams.startup as { total_ms: number; phases: Record<string, { at_ms: number; ms: number }>; database: string };
      await consoleFirstData(url, tokens.refresh_token, page);
      const firstDataMs = performance.now() - t0;
      // A host session of its own: refresh tokens are used once.
      const again = async () => JSON.parse(await request(`${url}/api/v1/auth/host-session`, 'POST', { secret })).refresh_token as string;
      const reloadMs = opts.reload ? await consoleFirstData(url, await again(), await newPage()) : undefined;
      return { readyMs, firstDataMs, phases: started.phases, amsMs: started.total_ms, database: started.database, reloadMs };
    } finally {
      await page.close();
      await launcher.stop();
    }
  }

  /** Launch → ready of the entry that only says ready. */
  async function floor(): Promise<number> {
    const launcher = launcherFor(floorEntry, path.join(floorDir, 'data'), generateHostSecret());
    try {
      const t0 = performance.now();
      await launcher.start();
      return performance.now() - t0;
    } finally {
      await launcher.stop();
    }
  }

  try {
    const fresh: Start[] = [];
    const warm: Start[] = [];
    const before: Start[] = [];
    const floors: number[] = [];
    const runs = quick ? 2 : 4;
    for (let i = 0; i < runs; i++) {
      floors.push(await floor());
      const dir = tempDir('opmas-bench-host-');
      dirs.push(dir);
      fresh.push(await once(serverEntry, dir));
      warm.push(await once(serverEntry, dir, { reload: true }));
      const old = tempDir('opmas-bench-host-old-');
      dirs.push(old);
      before.push(await once(path.join(noTemplateDir, 'server.js'), old));
    }
    const floorStats = stats(floors);
    const reload = stats(warm.map((r) => r.reloadMs!));
    // Each phase of the AMS's start (they overlap: the broker starts beside the database), and
    // what comes before startAms: the launcher forking Node, which loads the server bundle.
    const phaseRows = (label: string, runs: Start[]): Row[] => {
      const names = [...new Set(runs.flatMap((r) => Object.keys(r.phases)))].sort((a, b) => runs[0].phases[a]?.at_ms - runs[0].phases[b]?.at_ms);
      return [
        { name: `${label}: launch → AMS entry (fork, Node, server bundle loaded)`, s: stats(runs.map((r) => r.readyMs - r.amsMs)), base: floorStats, note: 'ratio to the Node entry that only says ready' },
        ...names.map((n) => ({
          name: `${label}: phase ${n}`,
          s: stats(runs.map((r) => r.phases[n]?.ms ?? 0)),
          note: `starts ${stats(runs.map((r) => r.phases[n]?.at_ms ?? 0)).p50.toFixed(0)} ms into the AMS's start`,
        })),
      ];
    };
    const origins = (runs: Start[]) => [...new Set(runs.map((r) => r.database))].join(', ');
    return [
      { name: 'baseline: launch → a Node entry that only says it is ready (fork and Node start)', s: floorStats },
      { name: 'baseline: the console loaded again on the running AMS → first data', s: reload, note: `new browser context, host session; ${expected} sample agents listed` },
      {
        name: 'baseline: fresh data dir, the same build without the shipped database: launch → dashboard first data',
        s: stats(before.map((r) => r.firstDataMs)),
        note: `the path before the template: PGlite created (initdb) and migrated (database ${origins(before)}); launch → ready p50 ${stats(before.map((r) => r.readyMs)).p50.toFixed(0)} ms`,
      },
      { name: 'fresh data dir: launch → AMS ready', s: stats(fresh.map((r) => r.readyMs)), base: floorStats, note: `database ${origins(fresh)}; nats-server started beside it; ratio to the Node entry alone` },
      { name: 'fresh data dir: launch → dashboard first data', s: stats(fresh.map((r) => r.firstDataMs)), base: stats(before.map((r) => r.firstDataMs)), note: 'target < 3 s; ratio to the same start without the shipped database' },
      ...phaseRows('fresh', fresh),
      { name: 'warm data dir: launch → AMS ready', s: stats(warm.map((r) => r.readyMs)), base: floorStats, note: `database ${origins(warm)}; ratio to the Node entry alone` },
      { name: 'warm data dir: launch → dashboard first data', s: stats(warm.map((r) => r.firstDataMs)), base: reload, note: 'target < 1 s; ratio to the console loaded again on the running AMS' },
      ...phaseRows('warm', warm),
    ];
  } finally {
    await b.close();
    for (const d of [...dirs, agentsDir, floorDir, noTemplateDir]) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** Builds the app once (the renderer the AMS serves, and out/main/server.js for host mode). */
export function buildConsole(): void {
  execFileSync(process.execPath, [path.join(REPO, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: REPO, stdio: 'ignore', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
}
