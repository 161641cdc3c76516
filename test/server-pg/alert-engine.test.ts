// PostgreSQL run only: the alert engine on two replicas. One holds its advisory lock at a time
// (pg_locks); when it stops the other takes over and goes on where it stopped, with the
// crash-loop window counted in the database across the two, so a loop whose failures were seen
// by different replicas is still one alert, raised once.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmsEventInput } from '../../server/events/bus.js';
import { SINGLETON_KEYS } from '../../server/db/singleton-lock.js';
import { ADMIN, apiClient, type ApiClient, login, startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { publishDelivered } from '../helpers/events.js';
import { eventually } from '../helpers/wait.js';
import { startExternalNats, type ExternalNats } from '../helpers/external-nats.js';
import { createLogger } from '../../server/logger.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-alert-engine-'));
let nats: ExternalNats;
let a: TestAms;
let b: TestAms;
let bApi: ApiClient;

beforeAll(async () => {
  // One NATS for both, as a cluster has: one event stream.
  nats = await startExternalNats(work, createLogger('warn', pino.destination({ dest: path.join(work, 'nats.log'), sync: true })));
  const env = { ...nats.env, OPMAS_ALERT_CRASH_LOOP_COUNT: '3', OPMAS_ALERT_CRASH_LOOP_WINDOW: '600' };
  const jwtSecret = randomBytes(32).toString('base64url');
  a = await startTestAms({ env, secrets: { jwtSecret } });
  b = await startTestAms({ env, noAdmin: true, secrets: { jwtSecret }, settings: { dbUrl: a.dbUrl } });
  bApi = apiClient(b.url, (await login(a.url, ADMIN, a.adminPassword)).access_token);
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await nats?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/**
 * Sessions holding the alert engine's lock in this test's database (a key under 2^32: classid 0,
 * objid the key); pg_locks lists every database of the cluster, where other suites' AMSs hold theirs.
 */
const holders = async () =>
  Number(
    (
      await b.ams.db.knex.raw(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = ? AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [SINGLETON_KEYS.alertSweep],
      )
    ).rows[0].n,
  );
const failed = (agentId: string): AmsEventInput => ({ type: 'status.changed', agent_id: agentId, from: 'running', to: 'failed', event_type: 'process_exited', details: { exit_code: 1 } });

describe('the alert engine on two replicas', () => {
  it('runs on one at a time, and on the other once the first stops, counting a crash loop across both', async () => {
    expect(await holders()).toBe(1);
    expect(a.ams.services.alerts.stats().engine).toBe(true);
    expect(b.ams.services.alerts.stats().engine).toBe(false);

    const agent = await createAgent(a.api);
    await publishDelivered(a.ams.services.events, failed(agent.id));
    await publishDelivered(a.ams.services.events, failed(agent.id));
    await a.ams.services.alerts.settled();
    const rulesNow = async (api: ApiClient) => ((await api.get(`/api/v1/alerts?agent_id=${agent.id}&status=open`)).body.items as any[]).map((x) => `${x.rule}:${x.count}`).sort();
    expect(await rulesNow(a.api)).toEqual(['agent_failed:2']);

    // Stopped (its database stays: B uses it).
    await a.ams.close();
    await eventually(async () => b.ams.services.alerts.stats().engine, Boolean, 'replica B running the alert engine', 30_000);
    expect(await holders()).toBe(1);
    // The third failure, seen by B: the window holds the two A saw.
    await publishDelivered(b.ams.services.events, failed(agent.id));
    const open = await eventually(() => rulesNow(bApi), (r) => r.includes('crash_loop:1'), 'the crash loop raised on B', 30_000);
    expect(open).toEqual(['agent_failed:3', 'crash_loop:1']);
  });
});
