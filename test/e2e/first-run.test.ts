// The first ten minutes in the browser: with no user the console opens on the setup form, a
// failed attempt keeps what was typed and says what is wrong by the field (also when the
// browser itself blocks the submit); the empty Fleet and Packages views name the agents
// directory with a valid .env.discovery; a launch that fails shows its stderr on the agent page.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { FIXTURE_AGENTS } from '../helpers/agents.js';
import { recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

describe('first run in the browser', () => {
  let first: ConsoleSuite;
  const announced: string[] = [];
  afterAll(async () => {
    await first?.stop();
  });

  it('opens on the setup form, keeps what was typed after a failed attempt and shows each error by its field', async () => {
    first = await startConsole({ samples: [], ams: { noAdmin: true, announce: (line) => announced.push(line) } });
    const token = announced.join('\n').match(/ost_[A-Za-z0-9_-]+/)?.[0];
    expect(token).toBeTruthy();
    recordSecret(token);
    const { page } = first;
    await first.open('/');
    // No link to find: the AMS says it has no user, so the setup form is the first page.
    await page.getByRole('heading', { name: 'Set up this AMS' }).waitFor();
    await page.getByRole('group', { name: 'First run: create the first administrator' }).waitFor();
    expect(await page.locator('form.login').getAttribute('data-mode')).toBe('setup');

    // A submit the browser blocks (password too short) says why, by the field.
    await page.getByLabel('Setup token').fill('ost_not-the-right-one');
    await page.getByLabel('User name').fill('ops-admin');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Password again').fill('short');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await waitForText(page, 'The password must be at least 10 characters (it has 5).', '[data-testid=password-error]');
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');

    // A refused attempt (wrong token): the error is by the token field, and every field keeps its value.
    const password = `pw-${Math.random().toString(36).slice(2)}-first-run`;
    recordSecret(password);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password again').fill(password);
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await waitForText(page, 'The setup token is not valid.', '[data-testid=token-error]');
    expect(await page.getByTestId('password-error').count()).toBe(0);
    expect(await page.getByLabel('Setup token').inputValue()).toBe('ost_not-the-right-one');
    expect(await page.getByLabel('User name').inputValue()).toBe('ops-admin');
    expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe(password);
    expect(await page.getByLabel('Password again').inputValue()).toBe(password);
    // Nothing typed is echoed back in the messages.
    expect(await page.locator('form.login').innerText()).not.toContain('ost_not-the-right-one');
    expect(await first.axe()).toEqual([]);
    await first.shot('first-run-refused');

    await page.getByLabel('Setup token').fill(token!);
    expect(await page.getByTestId('token-error').count()).toBe(0);
    expect(await first.axe()).toEqual([]);
    await first.shot('first-run-setup');
    await page.getByRole('button', { name: 'Create admin and sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await page.getByText('No agents yet').waitFor();
    // A reload keeps the session (the refresh token is kept for this tab).
    await page.reload();
    await page.getByText('No agents yet').waitFor();
    expect(first.pageErrors).toEqual([]);
  });

  it('names the agents directory, with a copy button and a valid .env.discovery, on the empty Fleet and Packages views', async () => {
    const { page } = first;
    for (const view of ['/', '/packages']) {
      await first.open(view);
      const hint = page.getByTestId('agents-dir-hint');
      await hint.waitFor();
      expect(await hint.getByTestId('agents-dir').innerText()).toBe(first.agentsDir);
      expect(await hint.getByRole('button', { name: 'Copy path' }).count()).toBe(1);
      const example = await hint.getByTestId('env-discovery-example').innerText();
      expect(example).toMatch(/^AGENT_NAME=\w+$/m);
      expect(example).toMatch(/^AGENT_VERSION=\d+\.\d+\.\d+$/m);
      expect(await first.axe()).toEqual([]);
      await first.shot(view === '/' ? 'dashboard-empty' : 'packages-empty');
    }
    // Following the hint works: a package copied there shows up in the fleet.
    fs.cpSync(path.join(FIXTURE_AGENTS, 'crash-on-start'), path.join(first.agentsDir, 'crash-on-start'), { recursive: true });
    await first.open('/');
    await page.getByRole('link', { name: 'CrashOnStartAgent' }).waitFor({ timeout: 30_000 });
    expect(first.pageErrors).toEqual([]);
  });
});

describe('a launch that fails', () => {
  let c: ConsoleSuite;
  afterAll(async () => {
    await c?.stop();
  });

  it("shows the agent's stderr lines on its status page and in its timeline", async () => {
    c = await startConsole({ samples: [], packages: (dir) => fs.cpSync(path.join(FIXTURE_AGENTS, 'crash-on-start'), path.join(dir, 'crash-on-start'), { recursive: true }) });
    const { page, t } = c;
    const id = (await t.api.get('/api/v1/agents?q=CrashOnStart')).body.items[0].id as string;
    expect((await t.api.put(`/api/v1/agents/${id}/recovery/policy`, { auto_recovery: false })).status).toBe(200);
    await c.open('/');
    await c.login();
    await c.open(`/agents/${id}`);
    await page.getByRole('heading', { name: 'Status' }).waitFor();
    expect(await page.getByTestId('stderr-tail').count()).toBe(0);
    expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    // The failure arrives over the live stream; the panel reads the exit record's stderr lines.
    await waitForText(page, 'crash-on-start: failing on purpose', '[data-testid=stderr-tail]', 30_000);
    await waitForText(page, 'the process exited with code 1; stderr: crash-on-start: failing on purpose', '.facts');
    expect(await c.axe()).toEqual([]);
    await c.shot('agent-failed-launch');

    await c.open(`/agents/${id}/activity`);
    const row = page.getByTestId('timeline').locator('[data-event-type=process_exited]').first();
    await row.waitFor();
    const stderr = row.getByTestId('timeline-stderr');
    expect(await stderr.locator('summary').innerText()).toBe('stderr (1 line)');
    await stderr.locator('summary').click();
    await eventually(() => stderr.locator('pre').innerText(), (s) => s === 'crash-on-start: failing on purpose', 'the stderr lines in the timeline');
    expect(c.pageErrors).toEqual([]);
  });
});
