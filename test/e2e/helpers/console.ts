// One console under test: a real AMS (PGlite, real nats-server) serving the built renderer,
// with an agents directory holding real agent packages, and Chromium (playwright-core, the
// Debian package) with a throwaway HOME and profile. Screenshots and accessibility checks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startTestAms, type TestAms, type TestAmsOptions } from '../../helpers/ams.js';
import { SAMPLE_AGENTS } from '../../helpers/agents.js';
import { eventually } from '../../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
export const SCREENSHOT_DIR = process.env.OPMAS_SCREENSHOT_DIR ?? path.join(ROOT, 'test-results/screenshots');
export const CHROMIUM = process.env.OPMAS_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface ConsoleOptions {
  /** Sample agent folders (under resources/agents) copied into the agents dir. Default: all of them. */
  samples?: string[];
  /** Writes more packages into the agents dir before the AMS starts. */
  packages?(agentsDir: string): void;
  ams?: TestAmsOptions;
  colorScheme?: 'light' | 'dark';
}

export interface ConsoleSuite {
  t: TestAms;
  agentsDir: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page; a suite ends by checking there were none. */
  pageErrors: string[];
  open(pathname: string): Promise<void>;
  login(username?: string, password?: string): Promise<void>;
  /** Saves a 1280×800 screenshot as <dir>/<name>.png. */
  shot(name: string): Promise<string>;
  /** Axe on the current page: the serious and critical violations (none expected). */
  axe(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startConsole(opts: ConsoleOptions = {}): Promise<ConsoleSuite> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-e2e-'));
  const agentsDir = path.join(work, 'agents');
  fs.mkdirSync(agentsDir);
  for (const name of opts.samples ?? fs.readdirSync(SAMPLE_AGENTS).filter((n) => fs.statSync(path.join(SAMPLE_AGENTS, n)).isDirectory())) {
    fs.cpSync(path.join(SAMPLE_AGENTS, name), path.join(agentsDir, name), { recursive: true });
  }
  opts.packages?.(agentsDir);
  const t = await startTestAms({
    ...opts.ams,
    env: { OPMAS_AGENT_SDK: inject('agentSdk'), ...opts.ams?.env },
    settings: { staticDir: inject('consoleDir'), agentsDir, ...opts.ams?.settings },
  });
  const home = path.join(work, 'home');
  fs.mkdirSync(home);
  const context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, HOME: home },
    viewport: { width: 1280, height: 800 },
    colorScheme: opts.colorScheme ?? 'light',
    reducedMotion: 'reduce',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });

  const suite: ConsoleSuite = {
    t,
    agentsDir,
    context,
    page,
    pageErrors,
    async open(pathname) {
      await page.goto(new URL(pathname, t.url).toString());
    },
    async login(username = 'admin', password = t.adminPassword) {
      await page.getByLabel('User name').fill(username);
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
    },
    async shot(name) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      // Let the live clock and charts settle; screenshots are for people to look at.
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      await page.screenshot({ path: file });
      return file;
    },
    async axe() {
      const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    },
    async stop() {
      await context.close().catch(() => undefined);
      await t.stop().catch(() => undefined);
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
  return suite;
}

/** Waits until the page shows `text` somewhere in `selector` (default: anywhere). */
export async function waitForText(page: Page, text: string | RegExp, selector = 'body', timeoutMs = 20_000): Promise<void> {
  await eventually(
    async () => (await page.locator(selector).first().innerText().catch(() => '')) ?? '',
    (s) => (typeof text === 'string' ? s.includes(text) : text.test(s)),
    `"${text}" in ${selector}`,
    timeoutMs,
  );
}

/** How many pixels of the canvases are not transparent: a drawn chart has many. */
export async function drawnPixels(page: Page, selector: string): Promise<number> {
  // Runs in the page (DOM types are not in this Node project's lib).
  return page.$$eval(selector, (canvases: any[]) =>
    canvases.reduce((sum: number, c) => {
      const ctx = c.getContext('2d');
      if (!ctx || c.width === 0 || c.height === 0) return sum;
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
      return sum + n;
    }, 0),
  );
}
