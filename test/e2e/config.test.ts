// Configuration in the console against a real AMS: the effective config with each key's
// source, the AMS's validation errors shown inline, new versions, a diff between two versions,
// and a rollback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { eventually } from '../helpers/wait.js';

let c: ConsoleSuite;
let wifiId: string;

beforeAll(async () => {
  c = await startConsole({ samples: ['wifi'] });
  const agents = await eventually(() => c.t.api.get('/api/v1/agents'), (r) => r.body.items?.length === 1, 'the scanner to register the wifi agent');
  wifiId = agents.body.items[0].id;
  // A fleet-wide setting, so one key shows the fleet as its source.
  expect((await c.t.api.put('/api/v1/config', { config: { metrics_enabled: false } })).status).toBe(200);
  await c.open('/');
  await c.login();
});

afterAll(async () => {
  await c?.stop();
});

const sourceOf = (key: string) => c.page.getByTestId(`source-${key}`).innerText();
const valueOf = (key: string) => c.page.locator(`tr[data-key="${key}"] td.value`).innerText();

async function saveConfig(json: string, reason?: string) {
  const editor = c.page.getByTestId('config-editor');
  await editor.fill(json);
  if (reason) await c.page.getByLabel('Reason (optional)').fill(reason);
  await c.page.getByRole('button', { name: 'Save as new version' }).click();
}

describe('configuration', () => {
  it('shows the effective configuration with the source of each key', async () => {
    await c.open(`/agents/${wifiId}/config`);
    await c.page.getByTestId('effective-config').waitFor();
    expect(await sourceOf('heartbeat_interval')).toBe('default');
    expect(await sourceOf('metrics_enabled')).toBe('fleet');
    expect(await valueOf('metrics_enabled')).toBe('false');
    await c.page.getByText('No stored version yet').waitFor();
  });

  it('says where the JSON is broken, and shows the AMS validation errors beside the editor', async () => {
    const { page } = c;
    await page.getByTestId('config-editor').fill('{\n  "heartbeat_interval": 15,\n  "log_level": \n}');
    await waitForText(page, 'line 4, column 1', '[data-testid=config-parse-error]');
    expect(await page.getByRole('button', { name: 'Save as new version' }).isDisabled()).toBe(true);

    await saveConfig('{"heartbeat_interval": 0, "log_level": "LOUD"}');
    const issues = page.getByTestId('config-issues');
    await issues.waitFor();
    const text = await issues.innerText();
    expect(text).toContain('heartbeat_interval');
    expect(text).toContain('log_level');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-config-invalid');
  });

  it('stores a new version; the key then comes from the agent', async () => {
    const { page } = c;
    await saveConfig('{"heartbeat_interval": 15, "log_level": "DEBUG"}', 'debugging the wifi scan');
    // The wifi agent is not running: the message says so, tied to the version.
    await waitForText(page, 'Version 1 is saved. The agent is not running; it gets it at its next start.', '[data-testid=config-saved]');
    await eventually(() => sourceOf('heartbeat_interval'), (s) => s === 'agent', 'the source to become agent');
    expect(await valueOf('heartbeat_interval')).toBe('15');
    expect(await page.getByTestId('config-version').innerText()).toMatch(/Agent settings version 1/);

    await saveConfig('{"log_level": "WARNING", "scan": {"channels": [1, 6, 11]}}');
    await waitForText(page, /^Version 2 is saved\./, '[data-testid=config-saved]');
    await eventually(() => sourceOf('heartbeat_interval'), (s) => s === 'default', 'heartbeat_interval back to its default');
    expect(await page.locator('[data-testid=config-history] tbody tr').count()).toBe(2);
  });

  it('compares any two versions key by key', async () => {
    const diff = c.page.getByTestId('config-diff');
    await waitForText(c.page, 'Version 1 → 2: 1 added, 1 removed, 1 changed', '[data-testid=config-diff]');
    const kinds = Object.fromEntries(
      await diff.locator('tbody tr').evaluateAll((rows: any[]) => rows.map((r) => [r.querySelector('code').textContent, r.dataset.kind])),
    );
    expect(kinds).toEqual({ heartbeat_interval: 'removed', log_level: 'changed', 'scan.channels': 'added' });
    // Swap: B = version 1, A = version 2.
    await c.page.locator('[data-testid=config-history] tbody tr').nth(0).getByLabel('A').check();
    await c.page.locator('[data-testid=config-history] tbody tr').nth(1).getByLabel('B').check();
    await waitForText(c.page, 'Version 2 → 1: 1 added, 1 removed, 1 changed', '[data-testid=config-diff]');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-config');
  });

  it('rolls back to an old version as a new one', async () => {
    const { page } = c;
    await page.getByRole('button', { name: 'Roll back to 1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await waitForText(page, 'The settings of version 1 are current again. Version 3 is saved.', '[data-testid=rollback-done]');
    await eventually(() => valueOf('heartbeat_interval'), (v) => v === '15', 'the rolled-back value');
    expect(await sourceOf('heartbeat_interval')).toBe('agent');
    expect(await page.locator('[data-testid=config-history] tbody tr').count()).toBe(3);
    const stored = await c.t.api.get(`/api/v1/agents/${wifiId}/config`);
    expect(stored.body).toMatchObject({ version: 3, effective: { heartbeat_interval: { value: 15, source: 'agent' } } });
    expect(c.pageErrors).toEqual([]);
  });
});
