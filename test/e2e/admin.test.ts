// Alerts triage and administration in Chromium against a real AMS whose scanner registered the
// real sample agents: alerts raised by the AMS's own rules from its event bus (severities,
// filters and order in the URL, bulk acknowledge, a silence that mutes the next alert and is
// ended), then users, roles with the permission picker, API tokens shown once, notification
// channels with a test message to a real webhook receiver, the audit log with filters, live
// rows and exports; and what a read-only user sees instead, with the reason.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEventInput } from '../../server/events/bus.js';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/receivers.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

let c: ConsoleSuite;
let hook: WebhookReceiver;
let security: { id: string; name: string };
let wifi: { id: string; name: string };

beforeAll(async () => {
  hook = await startWebhookReceiver();
  c = await startConsole();
  const agents = await eventually(() => c.t.api.get('/api/v1/agents'), (r) => r.body.items?.length === 2, 'the scanner to register the sample agents');
  const pick = (n: string) => {
    const a = agents.body.items.find((x: { agent_name: string }) => x.agent_name === n);
    return { id: a.id as string, name: a.agent_name as string };
  };
  security = pick('SecurityAgent');
  wifi = pick('WifiAgent');
  // Labels to filter alerts by.
  expect((await c.t.api.put(`/api/v1/agents/${wifi.id}`, { labels: { site: 'north' } })).status).toBe(200);
  await c.open('/');
  await c.login();
});

afterAll(async () => {
  await c?.stop();
  await hook?.close();
});

const publish = async (e: AmsEventInput) => {
  c.t.ams.services.events.publish(e);
  await c.t.ams.services.alerts.settled();
};
const failed = (agentId: string): AmsEventInput => ({ type: 'status.changed', agent_id: agentId, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: 1 } });
const threshold = (agentId: string, metric: string, level: 'warning' | 'critical'): AmsEventInput => ({
  type: 'health.changed', agent_id: agentId, from: 'healthy', to: level, reasons: [{ kind: 'threshold', metric, value: 99, threshold: 90, level }],
});
const items = () => c.page.locator('.alert-list .alert-item');
const titles = () => items().locator('.alert-title').allInnerTexts();
const severities = () => items().evaluateAll((els: any[]) => els.map((e) => e.dataset.severity));

describe('alerts triage', () => {
  it('shows alerts worst first, titled by agent name, and filters by severity, rule, agent and label (kept in the URL)', async () => {
    const { page } = c;
    await publish(failed(security.id)); // warning
    await publish(threshold(wifi.id, 'cpu_percent', 'critical'));
    await publish(threshold(security.id, 'memory_mb', 'warning'));
    await page.getByRole('link', { name: /^Alerts/ }).click();
    await eventually(titles, (t) => t.length === 3, 'three open alerts');
    expect(await severities()).toEqual(['critical', 'warning', 'warning']);
    expect((await titles())[0]).toBe('Agent WifiAgent: cpu_percent over its critical threshold');
    expect((await titles()).join()).not.toContain(security.id);

    await page.getByRole('checkbox', { name: 'Critical', exact: true }).check();
    await eventually(severities, (s) => s.join() === 'critical', 'only critical');
    expect(new URL(page.url()).searchParams.get('severity')).toBe('critical');
    await page.getByRole('checkbox', { name: 'Critical', exact: true }).uncheck();
    await page.getByLabel('Rule').selectOption('agent_failed');
    await eventually(titles, (t) => t.join() === 'Agent SecurityAgent failed', 'the rule filter');
    await page.getByLabel('Rule').selectOption('');
    await page.getByLabel('Label').selectOption('site:north');
    await eventually(titles, (t) => t.length === 1 && t[0].startsWith('Agent WifiAgent'), 'the label filter');
    // A shared link shows the same view after a reload.
    await page.reload();
    await eventually(titles, (t) => t.length === 1 && t[0].startsWith('Agent WifiAgent'), 'the label filter after a reload');
    expect(await page.getByLabel('Label').inputValue()).toBe('site:north');
    await page.getByLabel('Label').selectOption('');
    await page.getByLabel('Agent', { exact: true }).selectOption(security.id);
    await eventually(titles, (t) => t.length === 2 && t.every((x) => x.includes('SecurityAgent')), 'the agent filter');
    await page.getByLabel('Sort').selectOption('newest');
    await eventually(titles, (t) => t[0] === 'Agent SecurityAgent: memory_mb over its warning threshold', 'newest first');
    await page.getByLabel('Agent', { exact: true }).selectOption('');
    await page.getByLabel('Sort').selectOption('severity');
    expect(await c.axe()).toEqual([]);
    await c.shot('alerts-triage');
  });

  it('acknowledges a selection at once', async () => {
    const { page } = c;
    await page.getByRole('checkbox', { name: /Select: Agent SecurityAgent failed/ }).check();
    await page.getByRole('checkbox', { name: /Select: Agent WifiAgent/ }).check();
    await page.getByTestId('ack-selected').click();
    await waitForText(page, 'Acknowledged 2 alerts.', '[data-testid=ack-result]');
    await eventually(titles, (t) => t.length === 1, 'one open alert left');
    await page.getByTestId('alerts-acknowledged').click();
    await eventually(titles, (t) => t.length === 2, 'two acknowledged');
    await waitForText(page, 'acknowledged by admin', '.alert-list');
    await page.getByTestId('alerts-open').click();
  });

  it('silences an agent with a reason: its next alert is recorded, shown as silenced and sent to no channel; the silence ends by hand', async () => {
    const { page } = c;
    const put = await c.t.api.put('/api/v1/notification-channels', { channels: [{ name: 'ops', type: 'webhook', settings: { url: hook.url, max_attempts: 1 } }], routing: { min_severity: 'warning', channels: ['ops'] } });
    expect(put.status).toBe(200);
    const open = items().filter({ hasText: 'memory_mb' });
    await open.getByRole('button', { name: 'Silence…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Every alert of SecurityAgent/).check();
    await dialog.getByLabel('For').selectOption(String(2 * 3600));
    expect(await dialog.getByRole('button', { name: 'Silence', exact: true }).isDisabled()).toBe(true);
    await dialog.getByLabel('Reason (required)').fill('replacing the sensor');
    expect(await c.axe()).toEqual([]);
    await c.shot('alerts-silence-dialog');
    await dialog.getByRole('button', { name: 'Silence', exact: true }).click();
    const silences = page.getByTestId('silences');
    await silences.locator('li', { hasText: 'SecurityAgent · every rule' }).waitFor();
    expect(await silences.innerText()).toContain('“replacing the sensor”');
    expect(await open.getByTestId('silenced').innerText()).toMatch(/^Silenced until \d\d:\d\d$/);

    // A new alert of the silenced agent: shown live, marked, not sent; one of another agent is sent.
    const before = hook.requests.length;
    await publish(threshold(security.id, 'cpu_percent', 'critical'));
    await publish(threshold(wifi.id, 'response_ms', 'warning'));
    await eventually(titles, (t) => t.some((x) => x.startsWith('Agent SecurityAgent: cpu_percent')), 'the silenced alert listed');
    const muted = items().filter({ hasText: 'SecurityAgent: cpu_percent' });
    await muted.getByTestId('silenced').waitFor();
    await c.t.ams.services.alerts.settled();
    const sent = hook.requests.slice(before).map((r) => r.body.alert.title);
    expect(sent).toEqual(['Agent WifiAgent: response_ms over its warning threshold']);
    expect(await c.axe()).toEqual([]);
    await c.shot('alerts-silenced');

    await silences.getByRole('button', { name: 'End now' }).click();
    await page.getByTestId('no-silence').waitFor();
    const stored = (await c.t.api.get('/api/v1/silences?state=inactive')).body.items[0];
    expect(stored).toMatchObject({ state: 'ended', ended_by: 'admin', reason: 'replacing the sensor' });
    expect((await c.t.api.get('/api/v1/audit?action=silence.*')).body.items.map((r: any) => r.action).sort()).toEqual(['silence.create', 'silence.end']);
  });
});

describe('administration', () => {
  it('users: create, change role, disable and enable, reset the password, delete; the last admin is protected and says why', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    const table = page.getByTestId('users');
    const admin = table.locator('tr[data-username=admin]');
    await admin.waitFor();
    const disable = admin.getByRole('button', { name: 'Disable' });
    expect(await disable.isDisabled()).toBe(true);
    expect(await disable.getAttribute('title')).toMatch(/last enabled admin/);

    await page.getByRole('button', { name: 'New user…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('User name').fill('oncall-1');
    await dialog.getByLabel('Password').fill('short');
    await dialog.getByLabel('Role').selectOption('operator');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await waitForText(page, 'Password must be at least 10 characters', 'dialog[open]');
    const password = `pw-${Math.random().toString(36).slice(2)}-ops`;
    recordSecret(password);
    await dialog.getByLabel('Password').fill(password);
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await waitForText(page, 'Created user oncall-1 (operator).', '[data-testid=admin-done]');
    const row = table.locator('tr[data-username=oncall-1]');
    await row.getByLabel('Role of oncall-1').selectOption('read-only');
    await row.getByRole('button', { name: 'Save role' }).click();
    await waitForText(page, 'oncall-1 is now read-only.', '[data-testid=admin-done]');
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('Disabled').waitFor();
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByText('Enabled').waitFor();
    await row.getByRole('button', { name: 'Reset password…' }).click();
    const fresh = `pw-${Math.random().toString(36).slice(2)}-new`;
    recordSecret(fresh);
    await dialog.getByLabel('New password', { exact: true }).fill(fresh);
    await dialog.getByLabel('New password again').fill(fresh);
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await waitForText(page, 'Password of oncall-1 changed', '[data-testid=admin-done]');
    expect((await c.t.anon.post('/api/v1/auth/login', { username: 'oncall-1', password: fresh })).status).toBe(200);
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-users');
    await row.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
    await row.waitFor({ state: 'detached' });
    const users = (await c.t.api.get('/api/v1/users')).body.items.map((u: any) => u.username);
    expect(users).not.toContain('oncall-1');
  });

  it('roles: a custom role from the permission picker, edited, then deleted', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByTestId('roles').locator('li[data-role=operator]').waitFor();
    await page.getByRole('button', { name: 'New role…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('on-call');
    const picker = dialog.getByTestId('permission-picker');
    for (const p of ['agents:read', 'alerts:read', 'alerts:write']) await picker.getByRole('checkbox', { name: new RegExp(`${p} `) }).check();
    await waitForText(page, 'Permissions (3 chosen)', '[data-testid=permission-picker] legend');
    await page.locator('dialog[open]').evaluate((d: any) => (d.scrollTop = 0));
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-role-picker');
    await dialog.getByRole('button', { name: 'Create role' }).click();
    await waitForText(page, 'Created role on-call (3 permissions).', '[data-testid=admin-done]');
    const role = page.getByTestId('roles').locator('li[data-role=on-call]');
    expect(await role.locator('.permission-list').innerText()).toBe('agents:read, alerts:read, alerts:write');
    await role.getByRole('button', { name: 'Edit…' }).click();
    await dialog.getByTestId('permission-picker').getByRole('checkbox', { name: /logs:read / }).check();
    await dialog.getByRole('button', { name: 'Save role' }).click();
    await waitForText(page, 'Saved role on-call (4 permissions).', '[data-testid=admin-done]');
    expect((await c.t.api.get('/api/v1/roles/on-call')).body.permissions.sort()).toEqual(['agents:read', 'alerts:read', 'alerts:write', 'logs:read']);
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-roles');
    await role.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete role' }).click();
    await role.waitFor({ state: 'detached' });
  });

  it('API tokens: created with a role and an expiry, shown once with a copy button, listed, revoked', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('Name').fill('prometheus');
    await page.getByLabel('Role').selectOption('read-only');
    await page.getByLabel('Expires after').selectOption(String(30 * 86_400));
    await page.getByRole('button', { name: 'Create token' }).click();
    const box = page.getByTestId('new-api-token');
    const token = (await box.locator('.secret').innerText()).trim();
    recordSecret(token);
    expect(token).toMatch(/^oat_/);
    await box.getByRole('button', { name: 'Copy' }).waitFor();
    // The token works, with its role's permissions.
    const res = await fetch(new URL('/api/v1/agents', c.t.url), { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const row = page.getByTestId('api-tokens').locator('tr[data-token=prometheus]');
    expect(await row.innerText()).toContain('read-only');
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-tokens');
    await box.getByRole('button', { name: /I have stored it/ }).click();
    expect(await page.getByTestId('new-api-token').count()).toBe(0);
    await row.getByRole('button', { name: 'Revoke…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await waitForText(page, 'Revoked token prometheus', '[data-testid=admin-done]');
    await eventually(() => fetch(new URL('/api/v1/agents', c.t.url), { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status), (s) => s === 401, 'the token refused');
  });

  it('notification channels: a webhook created, tested (delivered, then a failure explained), edited with its secret masked, deleted', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Notification channels' }).click();
    const list = page.getByTestId('channels');
    await list.locator('li[data-channel=desktop]').waitFor();
    await page.getByRole('button', { name: 'New channel…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('team-chat');
    await dialog.getByLabel('URL').fill('not a url');
    await dialog.getByRole('button', { name: 'Create channel' }).click();
    await waitForText(page, 'URL must be an http(s) URL', 'dialog[open]');
    await dialog.getByLabel('URL').fill(hook.url);
    await dialog.getByRole('button', { name: 'Create channel' }).click();
    const chat = list.locator('li[data-channel=team-chat]');
    await chat.waitFor();
    expect(await chat.innerText()).not.toContain(hook.secretPath);
    expect(await chat.innerText()).toContain('********');

    const before = hook.requests.length;
    await chat.getByRole('button', { name: 'Send a test message' }).click();
    await waitForText(page, /^✓ Delivered/, 'li[data-channel=team-chat] [data-testid=channel-test-result]');
    expect(hook.requests.slice(before).map((r) => r.body.alert.rule)).toEqual(['test']);
    hook.failNext(1, 503);
    await chat.getByRole('button', { name: 'Send a test message' }).click();
    await waitForText(page, 'webhook answered HTTP 503', 'li[data-channel=team-chat] [data-testid=channel-test-result]');
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-channels');

    // Editing shows the URL masked; saving it unchanged keeps the secret.
    await chat.getByRole('button', { name: 'Edit…' }).click();
    expect(await dialog.getByLabel('URL').inputValue()).toMatch(/\/\*{8}$/);
    await dialog.getByLabel('Only alerts from').selectOption('critical');
    await dialog.getByRole('button', { name: 'Save channel' }).click();
    await waitForText(page, 'Saved channel team-chat.', '[data-testid=admin-done]');
    const n = hook.requests.length;
    await chat.getByRole('button', { name: 'Send a test message' }).click();
    await waitForText(page, /^✓ Delivered/, 'li[data-channel=team-chat] [data-testid=channel-test-result]');
    expect(hook.requests.length).toBe(n + 1);
    await chat.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete channel' }).click();
    await chat.waitFor({ state: 'detached' });
  });

  it('audit log: filters in the URL, new rows arriving live, and exports as NDJSON and CSV', async () => {
    const { page } = c;
    await page.getByRole('link', { name: 'Audit log' }).click();
    const table = page.getByTestId('audit-log');
    await table.locator('tr[data-action="auth.login"]').first().waitFor();
    await page.getByLabel('Action').fill('role.*');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await eventually(() => table.locator('tbody tr[data-action]').evaluateAll((rows: any[]) => rows.map((r) => r.dataset.action)), (a) => a.length > 0 && a.every((x: string) => x.startsWith('role.')), 'role rows only');
    expect(new URL(page.url()).searchParams.get('action')).toBe('role.*');
    // Live: a change made elsewhere appears on top.
    expect(await page.getByTestId('audit-live').isChecked()).toBe(true);
    expect((await c.t.api.post('/api/v1/roles', { name: 'live-role', permissions: ['logs:read'] })).status).toBe(201);
    await eventually(() => table.locator('tbody tr[data-action]').first().innerText(), (t) => t.includes('role.create') && t.includes('role:live-role'), 'the new row on top');
    await table.locator('tbody tr[data-action]').first().getByRole('button', { name: 'Details' }).click();
    await waitForText(page, '"logs:read"', '.audit-details');
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-audit');

    const [ndjson] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export NDJSON' }).click()]);
    const lines = fs.readFileSync((await ndjson.path())!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((l) => l.action.startsWith('role.'))).toBe(true);
    expect(ndjson.suggestedFilename()).toMatch(/^opmas-audit-.*\.ndjson$/);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const rows = fs.readFileSync((await csv.path())!, 'utf8').trim().split('\r\n');
    expect(rows[0].startsWith('id,time,actor_type')).toBe(true);
    expect(rows.length).toBe(lines.length + 1);
    expect(c.pageErrors).toEqual([]);
  });
});

describe('a read-only user', () => {
  it('sees what the role may not do, and why', async () => {
    const reader = await c.t.userWith('read-only');
    await c.page.getByRole('link', { name: 'admin', exact: true }).click();
    await c.page.getByRole('button', { name: 'Sign out' }).click();
    await c.login(reader.username, reader.password);
    const { page } = c;
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    const why = page.getByTestId('unavailable');
    await why.waitFor();
    expect(await why.innerText()).toMatch(/needs the users:admin permission\. You are signed in as read-only-\w+ with the role read-only, which does not have it/);
    expect(await c.axe()).toEqual([]);
    await c.shot('admin-unavailable');
    await page.getByRole('link', { name: /^Alerts/ }).click();
    await waitForText(page, 'Acknowledging and silencing need the alerts:write permission.');
    expect(await page.getByRole('button', { name: 'Acknowledge', exact: true }).count()).toBe(0);
    // The fleet's row menu offers the actions disabled, saying which permission they need.
    await page.getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('button', { name: 'Actions for SecurityAgent' }).click();
    const start = page.getByTestId('row-menu').getByRole('menuitem', { name: /Start/ });
    expect(await start.getAttribute('aria-disabled')).toBe('true');
    expect(await start.innerText()).toContain('Needs the agents:control permission');
    expect(c.pageErrors).toEqual([]);
  });
});
