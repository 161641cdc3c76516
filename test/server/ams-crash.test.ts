// The AMS (`--role all`, a real process) killed with SIGKILL and started again, three times in a
// row, with an agent that should run: each time the new AMS adopts the agent (same PID), there is
// never a second process of it (the process table is read every 250 ms throughout), the broker
// keeps its address (the agent reconnects by itself), and nothing goes critical.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { alive, fillAgentsDir, processesOf, SAMPLE_AGENTS } from '../helpers/supervised.js';
import { apiClient, login, testPassword } from '../helpers/ams.js';
import { freshDatabase } from '../helpers/test-db.js';
import { spawnAms, type SpawnedAms } from '../helpers/spawn-ams.js';
import { eventually } from '../helpers/wait.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('the AMS killed with SIGKILL three times in a row', () => {
  it('adopts its agent every time: one process throughout, the same broker address, never critical', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-kill3-'));
    const agentsDir = path.join(dataDir, 'agents');
    fillAgentsDir(agentsDir, { security: `${SAMPLE_AGENTS}/security` });
    const db = await freshDatabase(dataDir, inject('dbTemplate'));
    cleanups.push(async () => {
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const password = testPassword();
    const args = ['--port', '0', '--data-dir', dataDir, '--agents-dir', agentsDir, ...(db.dbUrl ? ['--db-url', db.dbUrl] : [])];
    const env = { OPMAS_ADMIN_PASSWORD: password, OPMAS_AGENT_SDK: inject('agentSdk') };
    let ams: SpawnedAms = await spawnAms(args, env).ready;
    cleanups.push(() => void ams.child.kill('SIGKILL'));
    const client = async () => apiClient(ams.url, (await login(ams.url, 'admin', password)).access_token);
    let api = await client();
    const id = (await api.get('/api/v1/agents')).body.items[0].id as string;
    await api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 1 });
    expect((await api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    const running = await eventually(() => api.get(`/api/v1/agents/${id}/status`), (r) => r.body.health_status === 'healthy', 'healthy');
    const pid = running.body.pid as number;
    const brokerUrl = (await api.get('/api/v1/health')).body.components.broker.url as string;
    const since = new Date().toISOString();

    // Every 250 ms: never more than one process of the agent.
    const counts: number[] = [];
    const sampler = setInterval(() => counts.push(processesOf(id).length), 250);
    cleanups.push(() => clearInterval(sampler));

    for (let round = 1; round <= 3; round++) {
      ams.child.kill('SIGKILL');
      await ams.exited;
      expect(alive(pid)).toBe(true);
      ams = await spawnAms(args, env).ready;
      api = await client();
      const adopted = (await api.get(`/api/v1/agents/${id}/status`)).body;
      expect(adopted, `round ${round}`).toMatchObject({ process_status: 'running', pid, adopted: true });
      // The broker came back where the agent knows it, and the agent is heard again.
      expect((await api.get('/api/v1/health')).body.components.broker.url).toBe(brokerUrl);
      const heardAfter = Date.now();
      await eventually(() => api.get(`/api/v1/agents/${id}/status`), (r) => r.body.health_status === 'healthy' && Date.parse(r.body.last_heartbeat) > heardAfter, `heard again after round ${round}`);
    }
    clearInterval(sampler);
    expect(counts.length).toBeGreaterThan(10);
    expect(Math.max(...counts)).toBe(1);
    expect(processesOf(id)).toEqual([pid]);

    const history: Array<{ event_type: string; to_status: string | null; created_at: string }> = [];
    let cursor: string | null = null;
    do {
      const res: { body: { items: typeof history; next_cursor: string | null } } = await api.get(`/api/v1/agents/${id}/status/history?limit=500&from=${encodeURIComponent(since)}${cursor ? `&cursor=${cursor}` : ''}`);
      history.push(...res.body.items);
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(history.filter((h) => h.event_type === 'adopted')).toHaveLength(3);
    expect(history.filter((h) => h.event_type === 'health_changed' && h.to_status === 'critical')).toEqual([]);
    expect(history.map((h) => h.event_type)).not.toContain('process_exited');
    expect(history.map((h) => h.event_type)).not.toContain('process_started');
    const alerts = (await api.get(`/api/v1/alerts?agent_id=${id}`)).body.items;
    expect(alerts.filter((a: { rule: string }) => a.rule === 'heartbeat_missed')).toEqual([]);

    ams.child.kill('SIGTERM');
    expect((await ams.exited).code).toBe(0);
    expect(alive(pid)).toBe(false);
  }, 240_000);
});
