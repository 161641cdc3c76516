// The console live against a real AMS running a real agent process (the security sample):
// start it from the dashboard, watch its status arrive over the WebSocket, kill it and see the
// timeline gain the exit and the recovery, charts drawn with live data, an alert raised and
// acknowledged, a manual recovery, the policy editor, logs following, and a config change the
// running agent applies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { NatsConnection } from '@nats-io/transport-node';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { connectWithCreds } from '../helpers/broker.js';
import { recordCreds } from '../helpers/creds.js';
import { eventually } from '../helpers/wait.js';

let c: ConsoleSuite;
let id: string;
/** A log shipper: publishes on logs.*, which the security agent reads. */
let shipper: NatsConnection;

beforeAll(async () => {
  // Samples every second and heartbeats every 2 s, so the test waits seconds, not minutes.
  c = await startConsole({ samples: ['security'], ams: { env: { OPMAS_METRICS_INTERVAL: '1' } } });
  expect((await c.t.api.put('/api/v1/config', { config: { heartbeat_interval: 2 } })).status).toBe(200);
  const agents = await eventually(() => c.t.api.get('/api/v1/agents'), (r) => r.body.items?.length === 1, 'the scanner to register the security agent');
  id = agents.body.items[0].id;
  const policy = await c.t.api.put(`/api/v1/agents/${id}/recovery/policy`, { retry_delay: 0.2, stable_after: 600 });
  expect(policy.status).toBe(200);
  const user = await c.t.ams.broker.issuer.issueUser('e2e-log-shipper', { pub: { allow: ['logs.>'] }, sub: { allow: ['_INBOX.>'] } });
  recordCreds(user.creds);
  shipper = await connectWithCreds(c.t.ams.broker.url!, user.creds);
  await c.open('/');
  await c.login();
});

afterAll(async () => {
  await shipper?.close().catch(() => undefined);
  await c?.stop();
});

/** An event without a message: the agent logs a warning about it over NATS. */
async function shipEmptyEvent() {
  shipper.publish('logs.security', '{}');
  await shipper.flush();
}

const agentStatus = () => c.t.api.get(`/api/v1/agents/${id}/status`);
const killAgent = async () => {
  const pid = (await agentStatus()).body.pid as number;
  expect(pid).toBeGreaterThan(0);
  process.kill(pid, 'SIGKILL');
  return pid;
};
const badge = (page: Page, label: string) => page.locator('.agent-states span', { hasText: label }).locator('.badge');

/** Pixels of the chart's first series colour (the light theme's #1f6feb): the line itself, not the axes or grid. */
async function seriesPixels(page: Page, chart: string): Promise<number> {
  return page.locator(`[data-testid=chart-${chart}] canvas`).evaluate((canvas: any) => {
    const ctx = canvas.getContext('2d');
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && Math.abs(data[i] - 31) < 40 && Math.abs(data[i + 1] - 111) < 40 && Math.abs(data[i + 2] - 235) < 40) n++;
    return n;
  });
}

describe('the console with a running agent', () => {
  it('starts the agent from the dashboard after a confirmation that says how many; its status arrives live', async () => {
    const { page } = c;
    await eventually(() => page.getByTestId('connection-state').getAttribute('data-state'), (s) => s === 'live', 'the live stream');
    await page.getByLabel('Select SecurityAgent').check();
    expect(await page.getByTestId('selection-count').innerText()).toBe('1 agent selected');
    await page.getByRole('button', { name: 'Start…', exact: true }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('heading').innerText()).toBe('Start 1 agent?');
    await dialog.getByRole('button', { name: 'Start 1 agent' }).click();
    await waitForText(page, 'Started 1 of 1.', '[data-testid=bulk-result]');
    const row = page.locator('.fleet-row', { has: page.getByRole('link', { name: 'SecurityAgent' }) });
    await eventually(() => row.locator('.col-status').innerText(), (s) => s === 'Running', 'the row to show running (from the live stream)');
    await eventually(() => row.locator('.col-health').innerText(), (s) => s === 'Healthy', 'the row to show healthy');
    await eventually(() => row.locator('.col-heartbeat').innerText(), (s) => s !== 'never', 'a heartbeat');
    // Resource samples arrive over the stream and draw the memory sparkline and its value.
    await eventually(() => row.locator('.col-mem .spark-value').innerText(), (s) => / MB$/.test(s), 'a memory sample');
    expect(await c.axe()).toEqual([]);
    await c.shot('dashboard-live');
  });

  it('draws the metrics charts with live data and adds the kill and the recovery to the timeline', async () => {
    const { page } = c;
    await c.open(`/agents/${id}/activity`);
    await page.getByRole('button', { name: '15 min' }).click();
    const timeline = page.getByTestId('timeline');
    await timeline.locator('[data-event-type=process_started]').first().waitFor();
    // Live samples are appended to the series: the count grows and the line is drawn.
    const points = () => page.getByTestId('chart-memory').getAttribute('data-points').then(Number);
    const before = await eventually(points, (n) => n >= 2, 'memory samples on the chart');
    await eventually(points, (n) => n > before, 'another live sample appended');
    await eventually(() => seriesPixels(page, 'memory'), (n) => n > 20, 'the memory line drawn');

    const starts = () => timeline.locator('[data-event-type=process_started]').count();
    const startsBefore = await starts();
    await killAgent();
    await timeline.locator('[data-event-type=process_exited]').first().waitFor();
    expect(await timeline.locator('[data-event-type=process_exited] .timeline-cause').first().innerText()).toBe('Exited unexpectedly (killed by SIGKILL)');
    await eventually(starts, (n) => n === startsBefore + 1, 'the recovered process in the timeline');
    await timeline.locator('[data-event-type=recovery_succeeded]').first().waitFor();
    await eventually(() => badge(page, 'Process').innerText(), (s) => s === 'Running', 'the agent running again');

    // The chart cursor points at the timeline row in effect at that moment.
    const over = page.locator('[data-testid=chart-memory] .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    await page.locator('.timeline-row.active').first().waitFor();
    // Dragging across a chart zooms every chart and the timeline to that span (here the last
    // ~90 s of the 15 min, where this agent's life is).
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.getByTestId('range-zoom').waitFor();
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-timeline-metrics');
    await page.getByRole('button', { name: /Back to last 15 min/ }).click();
    await page.getByTestId('range-zoom').waitFor({ state: 'detached' });
  });

  it('shows an alert when the agent fails and stays down, acknowledges it, and links to the agent at that moment', async () => {
    const { page } = c;
    expect((await c.t.api.put(`/api/v1/agents/${id}/recovery/policy`, { auto_recovery: false })).status).toBe(200);
    await killAgent();
    await eventually(() => badge(page, 'Process').innerText(), (s) => s === 'Failed', 'the agent failed');
    // The nav badge counts it as it is raised, live.
    await page.locator('.nav-badge').waitFor();
    await page.getByRole('link', { name: /Alerts/ }).click();
    const item = page.locator('.alert-item', { hasText: /SecurityAgent.* failed/ });
    await item.waitFor();
    expect(await item.locator('.alert-message').innerText()).toMatch(/killed by SIGKILL|SIGKILL/);
    expect(await c.axe()).toEqual([]);
    await c.shot('alerts-open');
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await item.waitFor({ state: 'detached' });
    await page.getByTestId('alerts-acknowledged').click();
    const acked = page.locator('.alert-item', { hasText: /SecurityAgent.* failed/ });
    await waitForText(page, 'acknowledged by admin', '.alert-list');
    await acked.getByRole('link', { name: /SecurityAgent at/ }).click();
    await page.getByTestId('range-zoom').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/agents/${id}/activity`);
    await c.shot('alerts-acknowledged-link');
  });

  it('recovers the failed agent by hand (the button is disabled while it runs) and edits the policy with validation', async () => {
    const { page } = c;
    await c.open(`/agents/${id}/recovery`);
    const trigger = page.getByTestId('trigger-recovery');
    await trigger.waitFor();
    // The agent failed and automatic recovery is off: one state, said once.
    expect(await page.getByTestId('recovery-state').getAttribute('data-phase')).toBe('off');
    // Note whether the button is ever disabled while the recovery runs (it may finish fast).
    await trigger.evaluate((button: any) => {
      (globalThis as any).__disabledWhileRunning = false;
      new (globalThis as any).MutationObserver(() => {
        if (button.disabled && /in progress/.test(button.textContent)) (globalThis as any).__disabledWhileRunning = true;
      }).observe(button, { attributes: true, childList: true, characterData: true, subtree: true });
    });
    await trigger.click();
    await page.locator('[data-testid=recovery-attempts] tr', { hasText: 'Manual' }).first().waitFor();
    await eventually(() => badge(page, 'Process').innerText(), (s) => s === 'Running', 'the agent running after the manual recovery');
    expect(await page.evaluate('__disabledWhileRunning')).toBe(true);
    await eventually(() => trigger.isEnabled(), (e) => e, 'the button enabled again');

    // Policy: a bad value is named beside its field and nothing is sent; a good one is saved.
    await page.getByRole('textbox', { name: 'Jitter' }).fill('0.3');
    await waitForText(page, 'Jitter must be at most 0.25', '.policy');
    expect(await page.getByRole('button', { name: 'Save policy' }).isDisabled()).toBe(true);
    await page.getByRole('textbox', { name: 'Jitter' }).fill('0.1');
    await page.getByRole('textbox', { name: 'Max retries' }).fill('4');
    await page.getByLabel('Recover automatically when the agent fails').check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Saved.').waitFor();
    await waitForText(page, 'set by admin', '[data-testid=policy-source]');
    const stored = await c.t.api.get(`/api/v1/agents/${id}/recovery/policy`);
    expect(stored.body).toMatchObject({ max_retries: 4, jitter: 0.1, auto_recovery: true, source: 'agent' });
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-recovery-live');
  });

  it('follows new log lines as the agent sends them, with level filter and search', async () => {
    const { page } = c;
    await c.open(`/agents/${id}/logs`);
    const list = page.getByTestId('log-list');
    await list.locator('li', { hasText: 'SecurityAgent started' }).first().waitFor();
    expect(await page.getByTestId('follow').isChecked()).toBe(true);
    // An event without a message makes the agent log a warning over NATS: it appears on top.
    // Shipped again until it shows: an event published while a revocation reloads nats-server
    // (the older keys of the last restart) can reach the agent before it has subscribed again.
    await eventually(
      async () => {
        await shipEmptyEvent();
        return list.locator('li').first().innerText();
      },
      (s) => s.includes('dropped an event without a message'),
      'the new line on top',
      30_000,
      500,
    );
    await page.getByLabel('Level').selectOption('WARNING');
    await eventually(() => list.locator('li .log-level').allInnerTexts(), (levels) => levels.length > 0 && levels.every((l) => l === 'WARNING' || l === 'ERROR' || l === 'CRITICAL'), 'only warnings and worse');
    // The search applies after a debounce and reloads the list (dropping held lines): wait for
    // that request, so the paused-mode lines below are not cleared by a late search.
    const searched = page.waitForResponse((r) => r.url().includes('/logs?') && r.url().includes('q=dropped'));
    await page.getByRole('searchbox', { name: 'Search' }).fill('dropped');
    await searched;
    await eventually(() => list.locator('li .log-message').allInnerTexts(), (m) => m.length >= 1 && m.every((t) => t.includes('dropped')), 'the search');
    // Paused: new lines are counted, then shown on request.
    await page.getByTestId('follow').uncheck();
    const showHeld = page.getByRole('button', { name: /new lines? — show and follow/ });
    await eventually(
      async () => {
        await shipEmptyEvent();
        return showHeld.isVisible();
      },
      (visible) => visible,
      'a held line counted',
      30_000,
      500,
    );
    await showHeld.click();
    await eventually(() => list.locator('li', { hasText: 'dropped an event without a message' }).count(), (n) => n >= 2, 'the held line shown');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-logs-live');
  });

  it('saves a configuration the running agent applies, and says so', async () => {
    const { page } = c;
    // The agent answers control requests once it is connected: wait for a heartbeat from this run.
    await eventually(
      agentStatus,
      (r) => r.body.process_status === 'running' && r.body.reported_status === 'ready' && !!r.body.last_heartbeat && Date.parse(r.body.last_heartbeat) > Date.parse(r.body.start_time),
      'a heartbeat from the running process',
    );
    await c.open(`/agents/${id}/config`);
    await page.getByTestId('config-editor').fill('{"failed_login_threshold": 3}');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await waitForText(page, /^Version \d+ is saved and the running process \(pid \d+\) applied it\.$/, '[data-testid=config-saved]');
    await waitForText(page, 'applied', '[data-testid=config-history] tbody tr:first-child');
    expect(await c.page.getByTestId('source-failed_login_threshold').innerText()).toBe('agent');
    await c.open(`/agents/${id}`);
    await waitForText(page, 'version 1', '.facts');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-status-live');
    expect(c.pageErrors).toEqual([]);
  });
});
