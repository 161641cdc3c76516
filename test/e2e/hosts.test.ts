// The Hosts view in Chromium against a real AMS (role all: one host, its own) and a second host:
// a `--role supervisor` process on the same AMS's NATS with its own agents directory (the wifi
// sample), as a supervisor on another machine runs. Both listed live with their supervisors'
// state, version, last seen, epoch and agents by state; a host's page with its agents; the agent
// page naming its host; the fleet filtered and grouped by host; then the second supervisor killed
// with SIGKILL: its host goes down live, and the host_down alert links to it.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startConsole, waitForText, type ConsoleSuite } from './helpers/console.js';
import { SAMPLE_AGENTS } from '../helpers/agents.js';
import { recordCreds } from '../helpers/creds.js';
import { spawnSupervisor as spawnStandaloneSupervisor } from '../helpers/spawn-ams.js';
import { eventually } from '../helpers/wait.js';

// A short lease, so a killed supervisor's host is down within seconds (renewed every third of it).
const LEASE_TTL_S = 4;
const EDGE = 'edge-2';

let c: ConsoleSuite;
let ownHost: string;
let work: string;
let supervisor: ChildProcess | null = null;
let wifi: string;

/** `--role supervisor --host-id edge-2` in its own process, on the AMS's NATS with its own supervisor user. */
async function spawnSupervisor(): Promise<{ child: ChildProcess; ready: Promise<Record<string, unknown>> }> {
  const creds = await c.t.ams.broker.issuer.issueSupervisor(EDGE);
  recordCreds(creds.creds);
  const s = spawnStandaloneSupervisor({
    hostId: EDGE,
    dataDir: path.join(work, 'data'),
    natsUrl: c.t.ams.broker.url!,
    creds: creds.creds,
    args: ['--agents-dir', path.join(work, 'agents'), '--lease-ttl', String(LEASE_TTL_S)],
    env: { OPMAS_AGENT_SDK: inject('agentSdk') },
  });
  return { child: s.child, ready: s.ready() };
}

const host = async (id: string) => (await c.t.api.get(`/api/v1/hosts/${id}`)).body;

beforeAll(async () => {
  c = await startConsole({ samples: ['security'], ams: { settings: { leaseTtlS: LEASE_TTL_S } } });
  // Heartbeats every 2 s: the second host's agent is judged healthy within seconds.
  expect((await c.t.api.put('/api/v1/config', { config: { heartbeat_interval: 2 } })).status).toBe(200);
  ownHost = c.t.ams.hostId!;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-e2e-edge-'));
  fs.mkdirSync(path.join(work, 'agents'));
  fs.cpSync(path.join(SAMPLE_AGENTS, 'wifi'), path.join(work, 'agents', 'wifi'), { recursive: true });
  const spawned = await spawnSupervisor();
  supervisor = spawned.child;
  expect(await spawned.ready).toMatchObject({ event: 'ready', role: 'supervisor', host_id: EDGE });
  await eventually(() => host(EDGE), (h) => h.status === 'up', 'the second host up');
  const agents = await eventually(
    () => c.t.api.get(`/api/v1/agents?host_id=${EDGE}`),
    (r) => r.body.items?.length === 1,
    'the wifi agent registered by the second host',
  );
  wifi = agents.body.items[0].id;
  await eventually(() => c.t.api.get('/api/v1/agents'), (r) => r.body.items?.length === 2, 'both agents registered');
  await c.open('/hosts');
  await c.login();
});

afterAll(async () => {
  // The wifi agent outlives its killed supervisor (it is not its child by pipe).
  const pid = wifi ? (await c?.t.api.get(`/api/v1/agents/${wifi}/status`).catch(() => null))?.body?.pid : null;
  if (typeof pid === 'number') {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (supervisor && supervisor.exitCode === null && supervisor.signalCode === null) supervisor.kill('SIGKILL');
  await c?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const row = (id: string) => c.page.locator(`[data-testid=hosts] tr[data-host-id="${id}"]`);

describe('the Hosts view', () => {
  it('lists both hosts with their supervisor up, version, last seen, epoch and agents by state', async () => {
    const { page } = c;
    await page.getByRole('heading', { name: 'Hosts', level: 1 }).waitFor();
    await eventually(() => page.locator('[data-testid=hosts] tbody tr').count(), (n) => n === 2, 'two host rows');
    expect(await page.getByRole('link', { name: 'Hosts', exact: true }).getAttribute('aria-current')).toBe('page');
    await waitForText(page, '2 hosts · 2 up · 0 down', '[data-testid=hosts-summary]');
    const api = await host(EDGE);
    for (const id of [ownHost, EDGE]) {
      const r = row(id);
      expect(await r.locator('.host-link').innerText()).toBe(id);
      expect(await r.locator('.badge-host-up').innerText()).toBe('Up');
      expect(await r.locator('.host-state').innerText()).toContain("its supervisor holds the host's lease");
    }
    const edge = row(EDGE);
    expect(await edge.locator('td').nth(2).innerText()).toBe(api.version);
    expect(await edge.locator('td').nth(4).innerText()).toBe(String(api.epoch));
    expect(await edge.locator('td').first().innerText()).toContain(`pid ${api.pid}`);
    // Last seen is relative and moves with each lease renewal (a quiet reload while the view is open).
    await eventually(() => edge.getByTestId('host-last-seen').innerText(), (s) => s === 'just now' || /^\d+ s ago$/.test(s), 'a relative last seen');
    const seen = await edge.getByTestId('host-last-seen').locator('time').getAttribute('datetime');
    await eventually(() => edge.getByTestId('host-last-seen').locator('time').getAttribute('datetime'), (s) => s !== seen, 'a newer lease renewal shown');
    expect(await edge.locator('.host-agents').innerText()).toMatch(/^1 agent\s*1 registered/);
    expect(await row(ownHost).locator('.host-agents').innerText()).toMatch(/^1 agent\s*1 registered/);
    expect(await c.axe()).toEqual([]);
    await c.shot('hosts-up');
  });

  it("a host's page shows its supervisor and its agents, live as one starts", async () => {
    const { page } = c;
    await row(EDGE).getByRole('link', { name: EDGE }).click();
    await page.getByRole('heading', { name: EDGE, level: 1 }).waitFor();
    expect(page.url()).toMatch(/\/hosts\/edge-2$/);
    const api = await host(EDGE);
    await waitForText(page, `pid ${api.pid}`, '.facts');
    expect(await page.getByTestId('host-sentence').innerText()).toMatch(/^Up since \d\d:\d\d:\d\d/);
    expect(await page.locator('.facts').innerText()).toContain(path.join(work, 'agents'));
    const agentRow = page.locator(`[data-testid=host-agents] tr[data-agent-id="${wifi}"]`);
    await agentRow.waitFor();
    expect(await agentRow.locator('td').first().innerText()).toContain('WifiAgent');
    expect(await agentRow.locator('td').nth(1).innerText()).toBe('Registered');
    // Started through the API: the row follows the status events, no reload.
    expect((await c.t.api.post(`/api/v1/agents/${wifi}/start`)).status).toBe(202);
    await eventually(() => agentRow.locator('td').nth(1).innerText(), (s) => s === 'Running', 'the host page to show the agent running', 60_000);
    await eventually(() => agentRow.locator('td').nth(2).innerText(), (s) => s === 'Healthy', 'its host to judge it healthy', 60_000);
    expect(await agentRow.locator('td').nth(3).innerText()).toBe('Running');
    // Heartbeats are no live event: the page reads its agents again, so a healthy agent's last heartbeat is shown.
    await eventually(() => agentRow.locator('td').nth(4).innerText(), (s) => s === 'just now' || /^\d+ s ago$/.test(s), 'the last heartbeat on the host page');
    await eventually(() => page.locator('.host-agents').first().innerText(), (s) => /1 running/.test(s), 'the counts to follow');
    expect(await c.axe()).toEqual([]);
    await c.shot('host');
  });

  it("the agent page names its host and shows what should be beside what is", async () => {
    const { page } = c;
    await page.locator(`[data-testid=host-agents] tr[data-agent-id="${wifi}"]`).getByRole('link', { name: 'WifiAgent' }).click();
    await page.getByRole('heading', { name: 'WifiAgent', level: 1 }).waitFor();
    expect(await page.getByTestId('agent-host').innerText()).toContain(`host ${EDGE}`);
    expect(await page.getByTestId('desired-state').innerText()).toContain('Running');
    expect(await page.getByTestId('status-desired').innerText()).toBe('Running');
    await page.getByTestId('agent-host').getByRole('link', { name: EDGE }).click();
    await page.getByRole('heading', { name: EDGE, level: 1 }).waitFor();
  });

  it('the fleet is grouped and filtered by host, in the URL', async () => {
    const { page } = c;
    await c.open('/?group=host');
    await page.locator('.fleet-group').first().waitFor();
    const groups = await page.locator('.fleet-group .group-toggle').allInnerTexts();
    const named = async (id: string) => {
      const h = await host(id);
      return h.name !== id ? `host ${id} (${h.name})` : `host ${id}`;
    };
    expect(groups.map((g) => g.replace(/^[▾▸]\s*/, ''))).toEqual(await Promise.all([ownHost, EDGE].sort().map(named)));
    await c.shot('fleet-by-host');
    await page.getByLabel('Host', { exact: true }).selectOption(EDGE);
    await eventually(() => page.getByRole('link', { name: 'SecurityAgent' }).count(), (n) => n === 0, 'the other host\'s agent filtered out');
    expect(await page.getByRole('link', { name: 'WifiAgent' }).count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('host')).toBe(EDGE);
    await page.reload();
    await page.getByRole('link', { name: 'WifiAgent' }).waitFor();
    expect(await page.getByRole('link', { name: 'SecurityAgent' }).count()).toBe(0);
    expect(await page.getByLabel('Host', { exact: true }).inputValue()).toBe(EDGE);
    expect(await page.locator('.fleet-group .group-toggle').allInnerTexts()).toHaveLength(1);
  });

  it('a supervisor killed with SIGKILL: its host goes down live, and the host_down alert links to it', async () => {
    const { page } = c;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
    await waitForText(page, '2 hosts · 2 up · 0 down', '[data-testid=hosts-summary]');
    supervisor!.kill('SIGKILL');
    // No reload: the host.down event changes the row (the lease expires after LEASE_TTL_S).
    await eventually(() => row(EDGE).getAttribute('data-status'), (s) => s === 'down', 'the host to go down on the page', 60_000, 250);
    expect(await row(EDGE).locator('.badge-host-down').innerText()).toBe('Down');
    expect(await row(EDGE).locator('.host-state').innerText()).toMatch(/^Down since \d\d:\d\d:\d\d \(\d+ s\)\s+its supervisor has not renewed its lease for \d+ s$/);
    expect(await row(ownHost).getAttribute('data-status')).toBe('up');
    await waitForText(page, '2 hosts · 1 up · 1 down', '[data-testid=hosts-summary]');
    // Its agent is no longer judged by anyone: health unknown.
    await eventually(() => row(EDGE).locator('.host-agents').innerText(), (s) => s.includes('health unknown'), "the host's agents' health unknown");
    expect(await c.axe()).toEqual([]);
    await c.shot('hosts');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Alerts/ }).click();
    const item = page.locator('.alert-item', { hasText: `Host ${EDGE} is down` });
    await item.waitFor({ timeout: 30_000 });
    expect(await item.locator('.alert-message').innerText()).toContain(`The supervisor of host ${EDGE} is gone`);
    const link = item.getByTestId('alert-host-link');
    expect(await link.innerText()).toBe(`host ${EDGE}`);
    expect(await c.axe()).toEqual([]);
    await c.shot('alerts-host-down');

    await link.click();
    await page.getByRole('heading', { name: EDGE, level: 1 }).waitFor();
    expect(page.url()).toMatch(/\/hosts\/edge-2$/);
    const note = page.getByTestId('host-down-note');
    await note.waitFor();
    expect(await note.innerText()).toMatch(/Down since .*: its supervisor has not renewed its lease for \d+ s\./);
    expect(await note.getByTestId('host-alert-link').innerText()).toBe(`Host ${EDGE} is down`);
    expect(await page.locator(`[data-testid=host-agents] tr[data-agent-id="${wifi}"] td`).nth(2).innerText()).toBe('Unknown');
    expect(await c.axe()).toEqual([]);
    await c.shot('host-down');
    expect(c.pageErrors).toEqual([]);
  });
});
