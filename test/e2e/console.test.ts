// The web console in Chromium against a real AMS whose scanner found the real sample agents
// (and one broken package): sign in, the fleet, filters and search, an agent's pages, the
// packages with every reason and a rescan, settings, rotating credentials, the dark theme,
// accessibility and screenshots of each view; and what the console says when the AMS stops.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { writePackage } from '../helpers/packages.js';
import { recordCreds } from '../helpers/creds.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';
import { connectWithCreds } from '../helpers/broker.js';
import { subjects } from '../../server/broker/index.js';

let c: ConsoleSuite;
let securityId: string;

beforeAll(async () => {
  c = await startConsole({
    packages: (dir) => {
      writePackage(dir, 'broken-agent', { name: '9lives', version: 'one', command: 'node agent.mjs' });
      writePackage(dir, '.hidden-agent', { name: 'HiddenAgent', version: '1.0.0', command: 'node agent.mjs' });
    },
  });
  const agents = await eventually(() => c.t.api.get('/api/v1/agents'), (r) => r.body.items?.length === 2, 'the scanner to register the sample agents');
  securityId = agents.body.items.find((a: { agent_name: string }) => a.agent_name === 'SecurityAgent').id;
});

afterAll(async () => {
  await c?.stop();
});

describe('the web console', () => {
  it('refuses a wrong password with the reason, then signs in', async () => {
    const { page } = c;
    await c.open('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await c.axe()).toEqual([]);
    await c.shot('login');
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // By the password field, with what was typed kept.
    await waitForText(page, /password/i, '[data-testid=password-error]');
    expect(await page.getByLabel('User name').inputValue()).toBe('admin');
    await c.login();
    expect(await page.getByTestId('connection-state').getAttribute('data-state')).not.toBe('offline');
  });

  it('lists every agent with its states and counts, and filters, searches and sorts', async () => {
    const { page } = c;
    await waitForText(page, '2 agents', '[data-testid=fleet-total]');
    const names = () => page.locator('.fleet-scroll .agent-link').allInnerTexts();
    expect(await names()).toEqual(['SecurityAgent', 'WifiAgent']);
    const row = page.locator('.fleet-row', { has: page.getByRole('link', { name: 'SecurityAgent' }) });
    expect(await row.getByRole('cell').allInnerTexts()).toEqual(expect.arrayContaining(['security', '1.0.0', 'Registered', 'Unknown', 'never']));
    expect(await page.getByTestId('count-status-registered').innerText()).toMatch(/^2\s+Registered/);
    expect(await c.axe()).toEqual([]);
    await c.shot('dashboard');

    await page.getByLabel('Type', { exact: true }).selectOption('wifi');
    await eventually(names, (n) => n.length === 1 && n[0] === 'WifiAgent', 'the type filter');
    await page.getByLabel('Type', { exact: true }).selectOption('');
    await page.getByRole('searchbox', { name: 'Search' }).fill('secur');
    await eventually(names, (n) => n.join() === 'SecurityAgent', 'the search');
    await page.getByRole('searchbox', { name: 'Search' }).fill('no-such-agent');
    await page.getByText('No agent matches these filters').waitFor();
    await c.shot('dashboard-no-match');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await eventually(names, (n) => n.length === 2, 'the filters to clear');
    await page.getByRole('button', { name: 'Agent', exact: true }).click();
    await eventually(names, (n) => n.join() === 'WifiAgent,SecurityAgent', 'the name sort to reverse');
    await page.getByRole('button', { name: 'Agent', exact: true }).click();
    await page.getByLabel('Group by').selectOption('type');
    await page.getByRole('button', { name: /type security/ }).waitFor();
    await page.getByLabel('Group by').selectOption('none');

    // Keyboard: arrow keys move between rows, Enter opens the agent.
    await page.getByRole('link', { name: 'SecurityAgent' }).focus();
    const focused = () => page.evaluate<string>('document.activeElement?.textContent ?? ""');
    await page.keyboard.press('ArrowDown');
    await eventually(focused, (f) => f === 'WifiAgent', 'focus on the next row');
    await page.keyboard.press('ArrowUp');
    await eventually(focused, (f) => f === 'SecurityAgent', 'focus back on the first row');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'SecurityAgent', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/agents/${securityId}`);
  });

  it("shows a registered agent's status, recovery and logs pages", async () => {
    const { page } = c;
    await c.open(`/agents/${securityId}`);
    await page.getByRole('heading', { name: 'Status', exact: true }).waitFor();
    await waitForText(page, 'Security monitoring agent');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-status');
    for (const [tab, file] of [
      ['Recovery', 'agent-recovery'],
      ['Logs', 'agent-logs'],
    ] as const) {
      await page.getByRole('link', { name: tab, exact: true }).click();
      await page.locator('.state-loading').waitFor({ state: 'detached' });
      expect(await c.axe()).toEqual([]);
      await c.shot(file);
    }
  });

  it('shows a status word the protocol does not know as reported, with a note, while the agent is alive', async () => {
    const { page } = c;
    const res = await c.t.api.post('/api/v1/agents', { agent_name: 'ForeignAgent', agent_version: '1.0.0', agent_type: 'foreign' });
    expect(res.status).toBe(201);
    recordCreds(res.body.nats.creds);
    const id = res.body.agent_id as string;
    const nc = await connectWithCreds(res.body.nats.url, res.body.nats.creds, { inboxPrefix: subjects.agent(id).inboxPrefix, maxReconnectAttempts: 0 });
    try {
      nc.publish(subjects.agent(id).heartbeat, new TextEncoder().encode(JSON.stringify({ agent_id: id, status: 'healthy', timestamp: new Date().toISOString(), uptime: 3 })));
      await nc.flush();
      await eventually(() => c.t.api.get(`/api/v1/agents/${id}`), (r) => r.body.reported_status === 'healthy', 'the heartbeat to be stored');
      await c.open(`/agents/${id}`);
      const reported = page.getByTestId('reported-status');
      await waitForText(page, 'not a status word the protocol knows', '[data-testid=reported-status]');
      expect(await reported.innerText()).toMatch(/^healthy/);
      expect(await c.axe()).toEqual([]);
      await c.shot('agent-status-unknown-word');
    } finally {
      await nc.close();
    }
  });

  it('rotates the credentials and shows the new ones once', async () => {
    const { page } = c;
    await c.open(`/agents/${securityId}/credentials`);
    const rotate = async () => {
      await page.getByRole('button', { name: 'Rotate credentials…' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
      await page.getByTestId('rotated-creds').waitFor();
      const creds = await page.getByLabel('New NATS .creds file').inputValue();
      recordCreds(creds);
      return creds;
    };
    const first = await rotate();
    expect(first).toContain('BEGIN NATS USER JWT');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-credentials');
    // Hidden once stored; the second rotation revokes what the first issued.
    await page.getByRole('button', { name: /I have stored them/ }).click();
    expect(await page.getByLabel('New NATS .creds file').count()).toBe(0);
    const second = await rotate();
    expect(second).not.toBe(first);
    expect(await page.getByTestId('rotated-creds').innerText()).toMatch(/1 old credential was revoked/);
  });

  it('lists packages with every reason an invalid one was refused, and rescans with progress', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Packages' }).click();
    const broken = page.locator('tr[data-status=invalid]');
    await broken.waitFor();
    const reasons = await broken.locator('.reasons li').allInnerTexts();
    expect(reasons.length).toBeGreaterThanOrEqual(2);
    expect(reasons.join('\n')).toMatch(/AGENT_NAME/);
    expect(reasons.join('\n')).toMatch(/AGENT_VERSION/);
    expect(await page.locator('tr[data-status=registered]').count()).toBe(2);
    // A hidden folder is listed as ignored, with the reason.
    const hidden = page.locator('tr[data-status=ignored]', { hasText: '.hidden-agent' });
    expect(await hidden.locator('.reasons li').innerText()).toMatch(/starts with a dot/);
    expect(await hidden.locator('.badge').innerText()).toMatch(/ignored/i);
    expect(await c.axe()).toEqual([]);
    await c.shot('packages');

    // A new package appears after a rescan, which reports what it found.
    writePackage(c.agentsDir, 'late', { name: 'LateAgent', version: '1.2.3', type: 'late', command: 'node agent.mjs', files: { 'agent.mjs': '' } });
    await page.getByTestId('rescan').click();
    await waitForText(page, 'Scan finished', '[data-testid=scan-status]');
    await page.locator('tr[data-status=registered]', { hasText: 'LateAgent' }).waitFor();
    fs.rmSync(path.join(c.agentsDir, 'late'), { recursive: true });
  });

  it('creates a discovery token and shows it once', async () => {
    const { page } = c;
    await page.getByLabel('Agent type (optional)').fill('security');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.getByTestId('new-token').innerText();
    recordSecret(token);
    expect(token.length).toBeGreaterThan(20);
    await page.locator('td', { hasText: 'Active' }).first().waitFor();
  });

  it('shows settings with the AMS health and versions, the audit log, and switches to the dark theme', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Settings' }).click();
    await waitForText(page, 'ok', '[data-testid=ams-status]');
    await waitForText(page, 'auth.login');
    expect(await c.axe()).toEqual([]);
    await c.shot('settings');
    await page.getByLabel('Theme').selectOption('dark');
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    expect(await c.axe()).toEqual([]);
    await c.shot('settings-dark');
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.locator('.fleet-row .agent-link').first().waitFor();
    expect(await c.axe()).toEqual([]);
    await c.shot('dashboard-dark');
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Theme').selectOption('light');
  });

  it('alerts: with none raised, each status says what will appear there', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByText('No open alert').waitFor();
    await page.getByTestId('alerts-resolved').click();
    await page.getByText('No resolved alert').waitFor();
    await page.getByTestId('alerts-open').click();
    expect(await c.axe()).toEqual([]);
    await c.shot('alerts');
  });

  it('says the AMS is offline when it stops, and the error states say what failed', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Packages' }).click();
    await page.locator('tr[data-status=registered]').first().waitFor();
    await c.t.ams.close();
    await page.getByRole('button', { name: /Rescan/ }).click();
    await eventually(() => page.getByTestId('connection-state').getAttribute('data-state'), (s) => s === 'offline', 'the console to notice the AMS is gone');
    await waitForText(page, 'did not answer');
    expect(await c.axe()).toEqual([]);
    await c.shot('offline');
    expect(c.pageErrors).toEqual([]);
  });
});

