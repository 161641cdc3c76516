// The fleet and one agent for daily operations, in Chromium against a real AMS running the
// real security sample agent (and a fixture that crashes at start): the fleet table's view in
// the URL, row menus with confirmation, uptime and restart columns, keyboard shortcuts; the
// agent's charts checked as drawn values (every reported metric with its unit, axes fitted to
// the data, labelled markers, a young agent's range fitted); status uptime and a failed agent's
// stderr; recovery and configuration wording; logs with their source, range and export; the
// fleet overview; packages that update live; and, when the AMS stops, one banner, greyed
// last-known values and disabled controls, then a reconnect.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { eventually } from '../helpers/wait.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/agents');

let c: ConsoleSuite;
let id: string;
let crashId: string;

beforeAll(async () => {
  // Samples every second and heartbeats every second: the charts fill in seconds.
  c = await startConsole({
    samples: ['security'],
    packages: (dir) => fs.cpSync(path.join(FIXTURES, 'crash-on-start'), path.join(dir, 'crash-on-start'), { recursive: true }),
    ams: { env: { OPMAS_METRICS_INTERVAL: '1' } },
  });
  expect((await c.t.api.put('/api/v1/config', { config: { heartbeat_interval: 1 } })).status).toBe(200);
  const agents = await eventually(() => c.t.api.get('/api/v1/agents'), (r) => r.body.items?.length === 2, 'the scanner to register both packages');
  id = agents.body.items.find((a: { agent_name: string }) => a.agent_name === 'SecurityAgent').id;
  crashId = agents.body.items.find((a: { agent_name: string }) => a.agent_name !== 'SecurityAgent').id;
  expect((await c.t.api.put(`/api/v1/agents/${crashId}/recovery/policy`, { auto_recovery: false })).status).toBe(200);
  expect((await c.t.api.put(`/api/v1/agents/${id}/recovery/policy`, { retry_delay: 3, stable_after: 600 })).status).toBe(200);
  await c.open('/');
  await c.login();
});

afterAll(async () => {
  await c?.stop();
});

const row = (page: Page, name: string) => page.locator('.fleet-row', { has: page.getByRole('link', { name, exact: true }) });
const names = (page: Page) => page.locator('.fleet-scroll .agent-link').allInnerTexts();
const badge = (page: Page, label: string) => page.locator('.agent-states span', { hasText: label }).locator('.badge');
const agentStatus = () => c.t.api.get(`/api/v1/agents/${id}/status`);

/** Colour distance to the light theme's first series colour (#1f6feb). */
const SERIES = [31, 111, 235];

describe('the fleet table', () => {
  it('starts an agent from its row menu after the same confirmation as the bulk actions; uptime counts and restarts are counted', async () => {
    const { page } = c;
    await eventually(() => page.getByTestId('connection-state').getAttribute('data-state'), (s) => s === 'live', 'the live stream');
    await page.getByRole('button', { name: 'Actions for SecurityAgent' }).click();
    const menu = page.getByTestId('row-menu');
    expect(await menu.getByRole('menuitem', { name: /Stop/ }).getAttribute('aria-disabled')).toBe('true');
    await menu.getByRole('menuitem', { name: /^Start…/ }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('heading').innerText()).toBe('Start 1 agent?');
    expect(await dialog.innerText()).toContain('SecurityAgent (currently registered)');
    await dialog.getByRole('button', { name: 'Start 1 agent' }).click();
    await waitForText(page, 'Started 1 of 1.', '[data-testid=bulk-result]');
    const sec = row(page, 'SecurityAgent');
    await eventually(() => sec.locator('.col-status').innerText(), (s) => s === 'Running', 'running');
    // Uptime counts from the process start, live.
    const uptime = () => sec.locator('.col-uptime').innerText();
    const first = await eventually(uptime, (u) => /^\d+ s$/.test(u), 'an uptime');
    await eventually(uptime, (u) => /^\d+ s$/.test(u) && Number.parseInt(u, 10) > Number.parseInt(first, 10), 'the uptime growing');
    expect(await sec.locator('.col-restarts').innerText()).toBe('0');

    await page.getByRole('button', { name: 'Actions for SecurityAgent' }).click();
    await page.getByTestId('row-menu').waitFor();
    expect(await c.axe()).toEqual([]);
    await c.shot('dashboard-row-menu');
    await page.getByTestId('row-menu').getByRole('menuitem', { name: /^Restart…/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Restart 1 agent' }).click();
    await waitForText(page, 'Restarted 1 of 1.', '[data-testid=bulk-result]');
    await eventually(async () => (await c.t.api.get(`/api/v1/agents/${id}`)).body.restart_count, (n) => n === 1, 'the restart counted');
    await eventually(() => sec.locator('.col-restarts').innerText(), (s) => s === '1', 'the restart column (after the quiet refresh)', 30_000);
    expect(await c.axe()).toEqual([]);
    await c.shot('dashboard-row-menu-columns');
  });

  it('keeps filters, sort and grouping in the URL (a reload shows the same view) and has keyboard shortcuts', async () => {
    const { page } = c;
    await page.getByLabel('Status').selectOption('running');
    await eventually(() => names(page), (n) => n.join() === 'SecurityAgent', 'the status filter');
    await page.getByRole('button', { name: 'Restarts', exact: true }).click();
    await page.getByLabel('Group by').selectOption('type');
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({ status: 'running', sort: 'restarts', dir: 'desc', group: 'type' });
    await page.reload();
    await page.getByRole('button', { name: /type security/ }).waitFor();
    expect(await page.getByLabel('Status').inputValue()).toBe('running');
    expect(await page.locator('[role=columnheader][aria-sort]').innerText()).toMatch(/^Restarts/);
    // The Fleet link leads back to this view from elsewhere.
    await page.getByRole('link', { name: 'Packages' }).click();
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('button', { name: /type security/ }).waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('running');
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Group by').selectOption('none');

    // "/" focuses the search, "?" lists the shortcuts, ↓ reaches the rows and Enter opens one.
    await page.locator('h1').click();
    await page.keyboard.press('/');
    expect(await page.evaluate<string>('document.activeElement?.getAttribute("aria-label") ?? ""')).toBe('Search');
    await page.keyboard.type('secur');
    await eventually(() => names(page), (n) => n.join() === 'SecurityAgent', 'the search');
    expect(new URL(page.url()).searchParams.get('q')).toBe('secur');
    await page.locator('h1').click();
    await page.keyboard.press('?');
    const help = page.getByTestId('shortcuts');
    await help.waitFor();
    expect(await help.innerText()).toContain('Search the agents');
    expect(await c.axe()).toEqual([]);
    await c.shot('dashboard-shortcuts');
    await page.keyboard.press('Escape');
    await page.getByRole('searchbox', { name: 'Search' }).focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate<string>('document.activeElement?.textContent ?? ""')).toBe('SecurityAgent');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'SecurityAgent', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/agents/${id}`);
  });
});

describe('one agent', () => {
  it('status: the uptime counts from the start', async () => {
    const { page } = c;
    const uptime = page.getByTestId('uptime');
    const a = await eventually(() => uptime.innerText(), (u) => /^\d+ s$/.test(u), 'an uptime');
    await eventually(() => uptime.innerText(), (u) => Number.parseInt(u, 10) > Number.parseInt(a, 10), 'it counting');
    const started = Date.parse((await agentStatus()).body.start_time);
    const shown = Number.parseInt(await uptime.innerText(), 10);
    expect(Math.abs(shown - (Date.now() - started) / 1000)).toBeLessThan(5);
  });

  it('charts every reported metric with its unit, axes fitted to the data, and draws the values the API answers', async () => {
    const { page } = c;
    // Numbers the agent reports itself (declared counters) and the ping round trip need a few reports.
    await eventually(async () => (await c.t.api.get(`/api/v1/agents/${id}/metrics?from=${Date.now() - 600_000}`)).body, (b) => Array.isArray(b.response_ms) && b.response_ms.some((v: number | null) => v !== null) && 'findings' in b, 'the reported series', 30_000);
    await page.getByRole('link', { name: 'Timeline & metrics' }).click();
    const charts = page.getByTestId('metric-charts');
    await charts.waitFor();
    // A young agent's range is fitted to its data, not the last hour.
    await waitForText(page, /^Live: since \d\d:\d\d:\d\d/, '[data-testid=range-text]');
    const cpu = page.getByTestId('chart-cpu');
    await eventually(() => cpu.getAttribute('data-points').then(Number), (n) => n >= 3, 'CPU points');
    const cpuFrom = Number(await cpu.getAttribute('data-x-min'));
    expect(Date.now() / 1000 - cpuFrom).toBeLessThan(15 * 60);
    // CPU of an idle agent: a few percent at most, on an axis fitted to it (not 0-100).
    expect(Number(await cpu.getAttribute('data-y-max'))).toBeLessThan(60);
    expect(await page.getByTestId('thresholds-cpu').innerText()).toBe('warning 80 % · critical 95 %');
    for (const chart of ['response', 'heartbeat']) await eventually(() => page.getByTestId(`chart-${chart}`).getAttribute('data-points').then(Number), (n) => n >= 1, `${chart} points`, 30_000);
    // The agent's own counters, as rates with their units.
    for (const [name, unit] of [['findings', 'findings/s'], ['failed_logins', 'logins/s'], ['sudo_events', 'events/s']]) {
      expect(await page.locator(`[data-chart=metric-${name}] figcaption`).innerText()).toContain(`(${unit})`);
    }
    expect(await page.locator('[data-chart=events] figcaption').innerText()).toContain('(events/s)');

    // Drawn values: zoomed to a past span (fetched once, nothing appended live), every bucket
    // the API answers for that span is on the memory line where the axes put it.
    const mem = page.getByTestId('chart-memory');
    await eventually(() => mem.getAttribute('data-points').then(Number), (n) => n >= 4, 'memory points');
    const liveMax = Number(await mem.getAttribute('data-x-max'));
    // Buckets complete before the zoomed chart fetched them hold the same samples in both answers.
    const completeBefore = Date.now() / 1000;
    await page.locator('[data-testid=timeline] [data-event-type=process_started] .timeline-time').first().click();
    await page.getByTestId('range-zoom').waitFor();
    await eventually(() => mem.getAttribute('data-x-max').then(Number), (x) => x !== liveMax, 'the zoomed range drawn');
    const [xMin, xMax, step] = await Promise.all(['data-x-min', 'data-x-max', 'data-step'].map((a) => mem.getAttribute(a).then(Number)));
    const api = (await c.t.api.get(`/api/v1/agents/${id}/metrics?names=memory_mb&step=${step}&from=${new Date(xMin * 1000).toISOString()}&to=${new Date(xMax * 1000).toISOString()}`)).body;
    const points: Array<[number, number]> = api.t
      .map((t: number, i: number) => [t / 1000, api.memory_mb[i]])
      .filter(([t, v]: [number, number | null]) => v !== null && t + step <= completeBefore);
    expect(points.length).toBeGreaterThanOrEqual(2);
    const found = await mem.evaluate((box: any, args: { points: Array<[number, number]>; colour: number[] }) => {
      const canvas = box.querySelector('canvas');
      const over = box.querySelector('.u-over').getBoundingClientRect();
      const cr = canvas.getBoundingClientRect();
      const scale = canvas.width / cr.width;
      const ctx = canvas.getContext('2d');
      const [xMin, xMax, yMin, yMax] = ['xMin', 'xMax', 'yMin', 'yMax'].map((k) => Number(box.dataset[k]));
      return args.points.map(([t, v]) => {
        if (t < xMin || t > xMax) return null;
        const x = (over.left - cr.left + ((t - xMin) / (xMax - xMin)) * over.width) * scale;
        const y = (over.top - cr.top + (1 - (v - yMin) / (yMax - yMin)) * over.height) * scale;
        const r = Math.ceil(3 * scale);
        const data = ctx.getImageData(Math.round(x) - r, Math.round(y) - r, 2 * r + 1, 2 * r + 1).data;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] > 0 && Math.abs(data[i] - args.colour[0]) < 40 && Math.abs(data[i + 1] - args.colour[1]) < 40 && Math.abs(data[i + 2] - args.colour[2]) < 40) return true;
        }
        return false;
      });
    }, { points, colour: SERIES });
    const inRange = found.filter((f) => f !== null);
    expect(inRange.length).toBeGreaterThanOrEqual(2);
    expect(inRange.every((f) => f === true), `drawn at the API's values: ${JSON.stringify(found)}`).toBe(true);
    await page.getByRole('button', { name: /^Back to/ }).click();
    await page.getByTestId('range-zoom').waitFor({ state: 'detached' });

    // Time in the console's 24-hour format: the legend while the cursor is on the chart.
    const over = (await mem.locator('.u-over').boundingBox())!;
    await page.mouse.move(over.x + over.width - 3, over.y + over.height / 2);
    await waitForText(page, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, '[data-chart=memory] .u-legend .u-series:first-child .u-value');
  });

  it('labels the markers: hovering one names the transition, clicking selects it in the timeline', async () => {
    const { page } = c;
    const started = (await c.t.api.get(`/api/v1/agents/${id}/status/history?event_type=process_started&limit=1`)).body.items[0];
    const mem = page.getByTestId('chart-memory');
    const xMin = Number(await mem.getAttribute('data-x-min'));
    const xMax = Number(await mem.getAttribute('data-x-max'));
    const over = (await mem.locator('.u-over').boundingBox())!;
    const x = over.x + ((Date.parse(started.created_at) / 1000 - xMin) / (xMax - xMin)) * over.width;
    await page.mouse.move(x, over.y + over.height / 2);
    const tip = mem.locator('.chart-marker-tip');
    await waitForText(page, /\d\d:\d\d:\d\d Process started \(pid \d+\)/, '[data-chart=memory] .chart-marker-tip');
    expect(await tip.isVisible()).toBe(true);
    // A click selects the nearest of the transitions named, in the timeline.
    const named = (await tip.innerText()).split(' · ').map((s) => s.slice(9));
    await page.mouse.click(x, over.y + over.height / 2);
    const selected = page.locator('[data-testid=timeline] [aria-current=true]');
    await selected.waitFor();
    expect(await selected.locator('.timeline-cause').innerText()).toBe(named[0]);
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-charts-markers');
  });

  it('says a recovery is pending (Start and Restart disabled, one recovery state), then recovered', async () => {
    const { page } = c;
    await eventually(agentStatus, (r) => r.body.process_status === 'running' && !!r.body.pid, 'running');
    process.kill((await agentStatus()).body.pid, 'SIGKILL');
    await page.getByRole('link', { name: 'Recovery', exact: true }).click();
    const state = page.getByTestId('recovery-state');
    await eventually(() => state.getAttribute('data-phase'), (p) => p === 'waiting', 'the attempt scheduled');
    expect(await state.innerText()).toMatch(/^Recovering: attempt 1 of 3 starts in \d+ s\.$/);
    // The note follows the agent's recovery state, which arrives as its own event.
    await page.getByTestId('recovery-pending-note').waitFor();
    expect(await page.locator('.agent-actions').getByRole('button', { name: 'Start', exact: true }).isDisabled()).toBe(true);
    expect(await page.locator('.agent-actions').getByRole('button', { name: 'Restart' }).isDisabled()).toBe(true);
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-recovery-pending');
    await eventually(() => badge(page, 'Process').innerText(), (s) => s === 'Running', 'recovered', 30_000);
    await eventually(() => state.getAttribute('data-phase'), (p) => p === 'ready', 'ready again');
    expect(await page.getByTestId('last-attempt').innerText()).toMatch(/^#1 Restart, succeeded/);
  });

  it('configuration: "applied" names the process, and says so once it has stopped', async () => {
    const { page } = c;
    await eventually(agentStatus, (r) => r.body.process_status === 'running' && r.body.reported_status === 'ready' && Date.parse(r.body.last_heartbeat) > Date.parse(r.body.start_time), 'a heartbeat from this run');
    await page.getByRole('link', { name: 'Configuration' }).click();
    await page.getByTestId('config-editor').fill('{"failed_login_threshold": 4}');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    const saved = page.getByTestId('config-saved');
    await waitForText(page, /^Version 1 is saved and the running process \(pid \d+\) applied it\.$/, '[data-testid=config-saved]');
    await waitForText(page, /^The running process \(pid \d+\) runs version 1\.$/, '[data-testid=config-in-force]');
    await page.locator('.agent-actions').getByRole('button', { name: 'Stop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
    await eventually(() => saved.innerText(), (s) => /^Version 1 is saved and was applied by the process that ran then \(pid \d+\), which has since stopped; it is used at the next start\.$/.test(s), 'the message after the stop');
    await waitForText(page, 'applied (by a process that has since stopped)', '[data-testid=apply-1]');
    await waitForText(page, 'The agent is stopped: version 1 is used at its next start.', '[data-testid=config-in-force]');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-config-applied-stopped');
  });

  it('logs: the source of each line, a time range, and an export of the filtered lines', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Logs' }).click();
    const list = page.getByTestId('log-list');
    await list.locator('li').first().waitFor();
    const sources = await list.locator('.log-source').allInnerTexts();
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.every((s) => ['stdout', 'stderr', 'broker'].includes(s))).toBe(true);
    expect(sources).toContain('broker');
    await page.getByLabel('Time range').selectOption('15m');
    await list.locator('li').first().waitFor();
    await page.getByLabel('Time range').selectOption('custom');
    await page.getByLabel('To').fill('2000-01-01T00:00');
    await page.getByText('No line matches').waitFor();
    await page.getByLabel('Time range').selectOption('15m');
    await page.getByLabel('Level').selectOption('INFO');
    await list.locator('li').first().waitFor();
    const shown = await list.locator('li').count();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export .log' }).click()]);
    const lines = fs.readFileSync((await download.path())!, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(shown);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\S+Z (INFO|WARNING|ERROR|CRITICAL) (stdout|stderr|broker) /.test(l))).toBe(true);
    await waitForText(page, `Exported ${lines.length} line`, '[data-testid=logs-exported]');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-logs-source');
  });

  it("a failed agent's status shows why: its exit and its last lines on stderr", async () => {
    const { page } = c;
    expect((await c.t.api.post(`/api/v1/agents/${crashId}/start`)).status).toBe(202);
    await c.open(`/agents/${crashId}`);
    await eventually(() => badge(page, 'Process').innerText(), (s) => s === 'Failed', 'failed');
    const exit = page.getByTestId('last-exit');
    await waitForText(page, 'Why it failed', '[data-testid=last-exit]');
    await waitForText(page, 'crash-on-start: failing on purpose', '[data-testid=stderr-tail]');
    expect(await exit.innerText()).toContain('exit code 1');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-failed-stderr');
  });
});

describe('the fleet overview and packages', () => {
  it('charts the fleet: CPU, memory, event rate and the agents per state over time, with the range controls', async () => {
    const { page } = c;
    await c.open('/overview');
    await page.getByTestId('overview-charts').waitFor();
    for (const chart of ['fleet-cpu', 'fleet-memory', 'fleet-events', 'fleet-process', 'fleet-health']) await page.getByTestId(`chart-${chart}`).waitFor();
    // The process chart's "Stopped" line (the agent stopped above) is drawn at 1 at the right edge.
    const process = page.getByTestId('chart-fleet-process');
    const yMax = Number(await process.getAttribute('data-y-max'));
    expect(yMax).toBeGreaterThanOrEqual(1);
    await page.getByRole('button', { name: '24 h' }).click();
    await eventually(() => page.getByTestId('range-text').innerText(), (t) => t.includes('the last 24 h'), 'the 24 h range');
    expect(await c.axe()).toEqual([]);
    await c.shot('fleet-overview');
  });

  it('the packages list updates live as the scanner finds a new package', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Packages' }).click();
    await page.locator('tr[data-status=registered]').first().waitFor();
    fs.cpSync(path.join(c.agentsDir, 'security'), path.join(c.agentsDir, 'security-copy'), { recursive: true });
    fs.writeFileSync(path.join(c.agentsDir, 'security-copy', '.env.discovery'), fs.readFileSync(path.join(c.agentsDir, 'security', '.env.discovery'), 'utf8').replace(/AGENT_NAME=\S+/, 'AGENT_NAME=LiveAgent'));
    await page.locator('tr[data-status=registered]', { hasText: 'LiveAgent' }).waitFor();
    expect(await page.getByTestId('scan-status').count()).toBe(0);
  });
});

describe('when the AMS stops', () => {
  it('shows one banner with the reason and the reconnect state, greys the last-known values and disables controls; back when the AMS is', async () => {
    const { page } = c;
    await c.open(`/agents/${id}`);
    await page.getByRole('heading', { name: 'Status', exact: true }).waitFor();
    await eventually(() => page.getByTestId('connection-state').getAttribute('data-state'), (s) => s === 'live', 'live');
    await c.t.ams.close();
    const banner = page.getByTestId('link-banner');
    await banner.waitFor();
    await eventually(() => banner.getAttribute('data-state'), (s) => s === 'down', 'the AMS down');
    expect(await banner.innerText()).toMatch(/The AMS is unreachable \(the AMS does not answer\)\. Everything shown is as last known at \d\d:\d\d:\d\d; actions that need the AMS are disabled\./);
    await waitForText(page, /Reconnecting: attempt \d+, next in \d+ s/, '[data-testid=reconnect-state]');
    expect(await page.locator('main').getAttribute('data-link')).toBe('down');
    expect(await page.getByTestId('stale-note').innerText()).toMatch(/^last known at \d\d:\d\d:\d\d$/);
    const start = page.locator('.agent-actions').getByRole('button', { name: 'Start', exact: true });
    expect(await start.isDisabled()).toBe(true);
    expect(await start.getAttribute('title')).toContain('The AMS does not answer');
    // No raw API path in what the page says.
    expect(await page.locator('body').innerText()).not.toMatch(/\/api\/v1/);
    expect(await c.axe()).toEqual([]);
    await c.shot('ams-unreachable');

    await c.t.restart();
    await page.getByRole('button', { name: 'Reconnect now' }).click().catch(() => undefined);
    await banner.waitFor({ state: 'detached', timeout: 60_000 });
    expect(await page.locator('main').getAttribute('data-link')).toBe('up');
    expect(await start.isDisabled()).toBe(false);
    expect(c.pageErrors).toEqual([]);
  });
});
