// Runtime configuration with real agents: PUT .../config on a running agent sends
// config.update and records applied or rejected (with the agent's reason) on the version; an
// agent that does not answer keeps its running config and the answer says so. Then a broker
// outage beyond the threshold as a dependency failure, recovered by asking agents to reconnect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { validPackage } from '../helpers/packages.js';
import { eventually } from '../helpers/wait.js';
import type { AmsEvent } from '../../server/events/bus.js';

let t: SupervisedAms;
let security: string;
let deaf: string;
const events: AmsEvent[] = [];
beforeAll(async () => {
  t = await startSupervisedAms({
    security: `${SAMPLE_AGENTS}/security`,
    // A plain process that never connects: nobody answers its control subject.
    deaf: validPackage('DeafAgent', '1.0.0', { type: 'deaf' }),
  });
  t.ams.services.events.subscribe((e) => events.push(e));
  security = await t.idOf('SecurityAgent');
  deaf = await t.idOf('DeafAgent');
});
afterAll(() => t.stop());

describe('PUT .../config on a running agent', () => {
  it('is applied by the agent and recorded on the version', async () => {
    expect((await t.api.put(`/api/v1/agents/${security}/config`, { heartbeat_interval: 1 })).body.apply).toEqual({ status: 'not_running', running_version: null });
    expect((await t.api.post(`/api/v1/agents/${security}/start`)).status).toBe(202);
    await t.waitStatus(security, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'running and healthy');
    const put = await t.api.put(`/api/v1/agents/${security}/config`, { config: { heartbeat_interval: 1, failed_login_threshold: 7 }, reason: 'tighter' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ version: 2, apply: { status: 'applied', running_version: 2 } });
    expect((await t.status(security)).config_version).toBe(2);
    const versions = (await t.api.get(`/api/v1/agents/${security}/config/history`)).body.items;
    expect(versions[0]).toMatchObject({ version: 2, apply_status: 'applied', apply_error: null, applied_at: expect.any(String) });
    expect(versions[1]).toMatchObject({ version: 1, apply_status: null });
    const applied = (await t.history(security)).find((h) => h.event_type === 'config_applied');
    expect(applied.details).toEqual({ version: 2, previous_version: 1 });
    expect(events.find((e) => e.type === 'config.applied' && e.agent_id === security)).toMatchObject({ version: 2 });
    // The agent itself says so, in its own log.
    await eventually(() => t.ams.db.knex('agent_logs').where({ agent_id: security }).pluck('message'), (m) => m.includes('configuration version 2 applied'), "the agent's log line");
  });

  it('is rejected with the agent’s reason; the agent keeps running the version it had', async () => {
    const put = await t.api.put(`/api/v1/agents/${security}/config`, { config: { heartbeat_interval: 1, failed_login_threshold: 0 } });
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(3);
    expect(put.body.apply).toMatchObject({ status: 'rejected', running_version: 2 });
    expect(put.body.apply.error).toContain('failed_login_threshold must be a number from 1 to 100000');
    const status = await t.status(security);
    expect(status).toMatchObject({ config_version: 2, process_status: 'running' });
    const version = (await t.api.get(`/api/v1/agents/${security}/config/history`)).body.items[0];
    expect(version).toMatchObject({ version: 3, apply_status: 'rejected', apply_error: expect.stringContaining('failed_login_threshold') });
    const rejected = (await t.history(security)).find((h) => h.event_type === 'config_rejected');
    expect(rejected.details).toMatchObject({ version: 3, running_version: 2, error: expect.stringContaining('failed_login_threshold') });
    expect(events.find((e) => e.type === 'config.rejected' && e.agent_id === security)).toMatchObject({ version: 3 });

    // A rollback to the good version is pushed the same way.
    const back = await t.api.post(`/api/v1/agents/${security}/config/rollback`, { version: 2 });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ version: 4, apply: { status: 'applied', running_version: 4 } });
  });

  it('is unanswered by an agent that does not listen, and says what it keeps running', async () => {
    expect((await t.api.post(`/api/v1/agents/${deaf}/start`)).status).toBe(202);
    await t.waitStatus(deaf, (s) => s.process_status === 'running', 'running');
    const put = await t.api.put(`/api/v1/agents/${deaf}/config`, { threshold: 3 });
    expect(put.status).toBe(200);
    expect(put.body.apply).toMatchObject({ status: 'unanswered', running_version: 0 });
    expect(put.body.apply.error).toContain('keeps running version 0');
    expect((await t.api.get(`/api/v1/agents/${deaf}/config/history`)).body.items[0]).toMatchObject({ version: 1, apply_status: 'unanswered' });
    expect((await t.status(deaf)).config_version).toBe(0);
    await t.api.post(`/api/v1/agents/${deaf}/stop`);
    await t.waitStatus(deaf, (s) => s.process_status === 'stopped', 'stopped');
    expect((await t.api.put(`/api/v1/agents/${deaf}/config`, { threshold: 4 })).body.apply).toEqual({ status: 'not_running', running_version: null });
  });
});

describe('a broker outage', () => {
  it('beyond three heartbeat intervals is a dependency failure, recovered by asking the agent to reconnect', async () => {
    await t.setPolicy(security, { retry_delay: 0.1, recovery_timeout: 60, stable_after: 300 });
    const before = await t.waitStatus(security, (s) => s.health_status === 'healthy', 'healthy');
    await t.ams.broker.server!.stop();
    let restarted = false;
    try {
      // Without NATS the host cannot tell the control plane: it judges and acts on its own, and journals what it saw.
      const local = await eventually(
        async () => t.ams.supervisor!.view(security),
        (v) => v.process_status === 'degraded' && v.recovery?.in_progress === true,
        'degraded on its host, recovery under way',
      );
      expect(local.pid).toBe(before.pid);
      expect(local.recovery?.trigger).toBe('dependency_failure');
      expect(t.ams.supervisor!.journalStats().pending).toBeGreaterThan(0);
      await t.ams.broker.server!.start();
      restarted = true;
    } finally {
      if (!restarted) await t.ams.broker.server!.start();
    }
    const back = await t.waitStatus(security, (s) => s.process_status === 'running' && s.recovery_status === 'success', 'running again', 60_000);
    expect(back.pid).toBe(before.pid);
    const history = await t.history(security);
    const critical = history.filter((h) => h.event_type === 'health_changed' && h.to_status === 'critical').at(-1);
    expect(critical.details.cause).toBe('dependency');
    expect(critical.details.reasons[0].message).toContain('broker');
    const attempt = (await t.api.get(`/api/v1/agents/${security}/recovery`)).body.attempts[0];
    expect(attempt).toMatchObject({ attempt_number: 1, trigger: 'dependency_failure', recovery_strategy: 'dependency_reconnect', status: 'succeeded' });
    expect(history.some((h) => h.event_type === 'recovered' && h.from_status === 'degraded' && h.to_status === 'running')).toBe(true);
    // What the host journaled during the outage arrived in the order it happened.
    const order = history.map((h) => h.event_type);
    expect(order.lastIndexOf('degraded')).toBeLessThan(order.lastIndexOf('recovered'));
    expect(order.indexOf('recovery_attempt')).toBeGreaterThan(order.lastIndexOf('degraded') - 1);
  });
});
