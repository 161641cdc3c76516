// Automatic recovery with real agent processes: kill -9 brought back after the configured
// delays (read from the recorded timestamps), a crash loop that ends failed after exactly
// max_retries attempts with one escalation, heartbeat loss through warning and critical to
// degraded and back, resource exhaustion from a resource sample, the config-aware crash-loop
// guard rolling back a bad version, manual recovery, the policy API and the statistics.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, FIXTURE_AGENTS, processesOf, SAMPLE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { eventually } from '../helpers/wait.js';
import { connectWithCreds } from '../helpers/broker.js';
import { subjects } from '../../server/broker/subjects.js';
import type { AmsEvent } from '../../server/events/bus.js';

let t: SupervisedAms;
const events: AmsEvent[] = [];
const ids: Record<string, string> = {};

/** A copy of the sample SecurityAgent under another name (one agent per test). */
function securityCopy(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `opmas-${name}-`));
  fs.cpSync(`${SAMPLE_AGENTS}/security`, dir, { recursive: true });
  const file = path.join(dir, '.env.discovery');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('AGENT_NAME=SecurityAgent', `AGENT_NAME=${name}`));
  return dir;
}

beforeAll(async () => {
  const copies = { killed: securityCopy('KilledAgent'), hog: securityCopy('HogAgent'), manual: securityCopy('ManualAgent'), flaky: securityCopy('FlakyAgent') };
  t = await startSupervisedAms({
    ...copies,
    crash: `${FIXTURE_AGENTS}/crash-on-start`,
    silent: `${FIXTURE_AGENTS}/silent`,
    'exit-after': `${FIXTURE_AGENTS}/exit-after`,
  });
  for (const dir of Object.values(copies)) fs.rmSync(dir, { recursive: true, force: true });
  t.ams.services.events.subscribe((e) => events.push(e));
  for (const name of ['KilledAgent', 'HogAgent', 'ManualAgent', 'FlakyAgent', 'CrashOnStartAgent', 'SilentAgent', 'ExitAfterAgent']) ids[name] = await t.idOf(name);
});
afterAll(() => t.stop());

const ms = (iso: string) => new Date(iso).getTime();
const recovery = async (id: string) => (await t.api.get(`/api/v1/agents/${id}/recovery`)).body;

async function startHealthy(id: string, config: Record<string, unknown>) {
  expect((await t.api.put(`/api/v1/agents/${id}/config`, config)).status).toBe(200);
  expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
  return t.waitStatus(id, (s) => s.process_status === 'running' && s.health_status === 'healthy', 'running and healthy');
}

async function stopAgent(id: string) {
  await t.api.post(`/api/v1/agents/${id}/stop`);
  await t.waitStatus(id, (s) => s.process_status === 'stopped', 'stopped');
}

describe('an agent killed with SIGKILL', () => {
  it('is restarted after retry_delay × backoff_factor^(n-1), read from the recorded timestamps', async () => {
    const id = ids.KilledAgent;
    await t.setPolicy(id, { retry_delay: 0.3, backoff_factor: 2, max_retries: 3, stable_after: 300, recovery_timeout: 20 });
    let status = await startHealthy(id, { heartbeat_interval: 1 });
    for (const [n, delay] of [[1, 0.3], [2, 0.6]] as const) {
      const victim = status.pid;
      process.kill(victim, 'SIGKILL');
      status = await t.waitStatus(id, (s) => s.process_status === 'running' && s.pid !== victim && s.recovery_status === 'success' && s.health_status === 'healthy', `recovered from kill ${n}`);
      expect(alive(victim)).toBe(false);
      expect(processesOf(id)).toEqual([status.pid]);
      const history = await t.history(id);
      const exited = history.filter((h) => h.event_type === 'process_exited').at(-1);
      expect(exited).toMatchObject({ from_status: 'running', to_status: 'failed', details: { signal: 'SIGKILL', exit_code: null, pid: victim } });
      const view = await recovery(id);
      const attempt = view.attempts.find((a: { attempt_number: number }) => a.attempt_number === n);
      expect(attempt).toMatchObject({ status: 'succeeded', trigger: 'process_exit', recovery_strategy: 'restart', details: { delay_s: delay, max_attempts: 3 } });
      // The delay between the failure and the attempt, from what was recorded.
      expect(ms(attempt.started_at) - ms(exited.created_at)).toBeGreaterThanOrEqual(delay * 1000 - 5);
      const scheduled = history.filter((h) => h.event_type === 'recovery_attempt').at(-1);
      expect(scheduled.details).toMatchObject({ attempt: n, max_attempts: 3, trigger: 'process_exit', action: 'restart', delay_s: delay });
      const started = history.filter((h) => h.event_type === 'start_requested').at(-1);
      expect(started.details).toMatchObject({ cause: 'recovery', attempt: n, max_attempts: 3, trigger: 'process_exit' });
    }
    const view = await recovery(id);
    expect(view).toMatchObject({ recovery_status: 'success', in_progress: false, remaining: 1, next_attempt_at: null });
    expect(view.stats).toMatchObject({ attempts: 2, succeeded: 2, failed: 0, success_rate: 1, failure_rate: 0, recoveries: 2, by_trigger: { process_exit: { attempts: 2 } }, by_action: { restart: { succeeded: 2 } } });
    expect(view.stats.mean_time_to_recover_s).toBeGreaterThan(0.3);
    expect(view.stats.p95_time_to_recover_s).toBeGreaterThanOrEqual(view.stats.mean_time_to_recover_s);
    expect(view.stats.last_recovery_at).toEqual(expect.any(String));
    await stopAgent(id);
  });
});

describe('a crash loop', () => {
  it('ends failed after exactly max_retries attempts, with one recovery.escalated event', async () => {
    const id = ids.CrashOnStartAgent;
    await t.setPolicy(id, { retry_delay: 0.1, backoff_factor: 1.5, max_retries: 3, escalation_threshold: 3, notification_channels: ['ops-webhook'] });
    expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    const final = await t.waitStatus(id, (s) => s.recovery_status === 'failed', 'recovery failed');
    expect(final).toMatchObject({ process_status: 'failed', pid: null, exit_code: 1 });
    expect(final.last_error).toContain('recovery failed after 3 of 3 attempts');
    const view = await recovery(id);
    expect(view.attempts.map((a: { attempt_number: number; status: string }) => `${a.attempt_number}:${a.status}`)).toEqual(['1:failed', '2:failed', '3:failed']);
    expect(view.attempts[0].error).toContain('exited again (code 1)');
    expect(view).toMatchObject({ remaining: 0, in_progress: false, can_recover: true });
    // Events are published after their transaction commits, so they may trail the status read above.
    const of = (type: string) => async () => events.filter((e) => e.type === type && 'agent_id' in e && e.agent_id === id);
    await eventually(of('recovery.failed'), (xs) => xs.length > 0, 'the recovery.failed event');
    const escalated = await eventually(of('recovery.escalated'), (xs) => xs.length > 0, 'the recovery.escalated event');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]).toMatchObject({ attempt: 3, max_attempts: 3, trigger: 'process_exit', details: { notification_channels: ['ops-webhook'], failed_attempts: 3 } });
    const history = await t.history(id);
    expect(history.filter((h) => h.event_type === 'recovery_escalated')).toHaveLength(1);
    expect(history.filter((h) => h.event_type === 'recovery_attempt')).toHaveLength(3);
    expect(history.filter((h) => h.event_type === 'process_started')).toHaveLength(4);
    expect(history.filter((h) => h.event_type === 'recovery_failed')).toEqual([expect.objectContaining({ from_status: 'in_progress', to_status: 'failed' })]);
    // The delays grew by the factor: 0.1, 0.15, 0.225 s.
    expect(history.filter((h) => h.event_type === 'recovery_attempt').map((h) => h.details.delay_s)).toEqual([0.1, 0.15, 0.225]);
    expect(events.filter((e) => e.type === 'recovery.failed' && e.agent_id === id)).toHaveLength(1);
  });
});

describe('heartbeat loss', () => {
  it('goes warning, then critical, then degraded, and recovery brings it back', async () => {
    const id = ids.SilentAgent;
    await t.setPolicy(id, { retry_delay: 0.2, max_retries: 5, stable_after: 300, recovery_timeout: 15 });
    await startHealthy(id, { heartbeat_interval: 1 });
    await t.waitStatus(id, (s) => s.recovery_status === 'success' && s.process_status === 'running', 'recovered', 30_000);
    const history = await t.history(id);
    const seq = history.map((h) => `${h.event_type}:${h.from_status}->${h.to_status}`);
    const order = [
      'health_changed:unknown->healthy', 'health_changed:healthy->warning', 'health_changed:warning->critical', 'degraded:running->degraded',
      'recovery_attempt:none->in_progress', 'stop_requested:degraded->stopping', 'process_stopped:stopping->stopped', 'start_requested:stopped->starting',
      'process_started:starting->running', 'recovery_succeeded:in_progress->success',
    ];
    let at = -1;
    for (const step of order) {
      const next = seq.indexOf(step, at + 1);
      expect(next, `${step} after ${seq[at]} in ${seq.join(', ')}`).toBeGreaterThan(at);
      at = next;
    }
    const critical = history.find((h) => h.event_type === 'health_changed' && h.to_status === 'critical');
    expect(critical.details.reasons[0]).toMatchObject({ kind: 'heartbeat', level: 'critical', missed: 3 });
    const healthy = history.find((h) => h.event_type === 'health_changed' && h.to_status === 'healthy');
    // Detected from the recorded times: critical no sooner than 3 intervals after the last heartbeat.
    expect(ms(critical.created_at) - ms(critical.details.reasons[0].last_heartbeat)).toBeGreaterThanOrEqual(3000);
    expect(ms(critical.created_at)).toBeGreaterThan(ms(healthy.created_at));
    expect(history.find((h) => h.event_type === 'degraded').details).toMatchObject({ cause: 'heartbeat' });
    const view = await recovery(id);
    expect(view.attempts[0]).toMatchObject({ trigger: 'health_critical', recovery_strategy: 'restart', status: 'succeeded' });
    const health = (await t.api.get(`/api/v1/agents/${id}/health`)).body;
    expect(health).toMatchObject({ agent_id: id, heartbeat_interval: 1 });
    await stopAgent(id);
    expect((await recovery(id)).in_progress).toBe(false);
  });
});

describe('resource exhaustion', () => {
  it('a resource sample over the critical threshold degrades the agent and restarts it', async () => {
    const id = ids.HogAgent;
    await t.setPolicy(id, { retry_delay: 0.1, stable_after: 300 });
    const first = await startHealthy(id, { heartbeat_interval: 1, thresholds: { cpu_percent: { warning: 50, critical: 90 } } });
    // A sample as the host's sampler would take it from a process burning a core.
    t.ams.supervisor!.noteSample(id, { cpu_percent: 97.5, memory_mb: 40 });
    const back = await t.waitStatus(id, (s) => s.pid !== first.pid && s.process_status === 'running' && s.recovery_status === 'success', 'restarted');
    const history = await t.history(id);
    const degraded = history.find((h) => h.event_type === 'degraded');
    expect(degraded.details).toMatchObject({ cause: 'resource_exhaustion', reasons: [expect.objectContaining({ kind: 'threshold', metric: 'cpu_percent', value: 97.5, threshold: 90 })] });
    expect((await recovery(id)).attempts[0]).toMatchObject({ trigger: 'resource_exhaustion', recovery_strategy: 'restart', status: 'succeeded' });
    // A warning-level sample only warns, with the reason.
    t.ams.supervisor!.noteSample(id, { cpu_percent: 60 });
    const warned = await eventually(() => t.api.get(`/api/v1/agents/${id}/health`), (r) => r.body.health === 'warning', 'warning');
    expect(warned.body.reasons).toEqual([expect.objectContaining({ kind: 'threshold', level: 'warning', metric: 'cpu_percent', value: 60, threshold: 50 })]);
    expect((await t.status(id)).metrics).toMatchObject({ cpu_percent: 60 });
    expect(back.process_status).toBe('running');
    await stopAgent(id);
  });
});

describe('thresholds on what the agent reports and on its response time', () => {
  it('an error rate over the critical threshold (from the reported counters) degrades it; a slow ping warns', async () => {
    const id = ids.FlakyAgent;
    await t.setPolicy(id, { auto_recovery: false });
    expect((await t.api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 1, thresholds: { error_rate: { warning: 0.05, critical: 0.1 }, response_ms: { warning: 0, critical: 60_000 } } })).status).toBe(200);
    expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    await t.waitStatus(id, (s) => s.process_status === 'running' && s.last_heartbeat !== null, 'running and heard');
    // A ping answered at all is over a warning threshold of 0 ms.
    const slow = await eventually(() => t.api.get(`/api/v1/agents/${id}/health`), (r) => r.body.reasons.some((x: { metric?: string }) => x.metric === 'response_ms'), 'a ping measured');
    expect(slow.body.health).toBe('warning');
    expect(slow.body.reasons.find((x: { metric?: string }) => x.metric === 'response_ms')).toMatchObject({ kind: 'threshold', level: 'warning', threshold: 0 });
    // The agent's own counters, sent over NATS with its credentials: 40 of 200 events failed.
    const credsFile = path.join(t.dataDir, 'run', 'agents', `${id}.creds`);
    const nc = await connectWithCreds(t.ams.broker.url!, fs.readFileSync(credsFile, 'utf8'), { inboxPrefix: subjects.agent(id).inboxPrefix });
    try {
      const metrics = subjects.agent(id).metrics;
      nc.publish(metrics, JSON.stringify({ events_processed: 1000, events_failed: 0, processing_ms: 1 }));
      nc.publish(metrics, JSON.stringify({ events_processed: 1200, events_failed: 40, processing_ms: 2 }));
      await nc.flush();
    } finally {
      await nc.close();
    }
    const degraded = await t.waitStatus(id, (s) => s.process_status === 'degraded', 'degraded');
    expect(degraded.metrics.error_rate).toBeGreaterThanOrEqual(0.1);
    const row = (await t.history(id)).find((h) => h.event_type === 'degraded');
    expect(row.details.reasons).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'threshold', level: 'critical', metric: 'error_rate', value: 0.2, threshold: 0.1 })]));
    // auto_recovery is off: it stays degraded and nothing is attempted.
    expect((await recovery(id)).attempts).toEqual([]);
    await stopAgent(id);
  });
});

describe('the config-aware crash-loop guard', () => {
  it('rolls a version that makes the agent fail back to the last version it ran healthy under, with the diff', async () => {
    const id = ids.ExitAfterAgent;
    await t.setPolicy(id, { stable_after: 1, retry_delay: 0.1, recovery_timeout: 15 });
    await startHealthy(id, { heartbeat_interval: 1, exit_after_s: 600 });
    await t.waitStatus(id, (s) => s.stable_config_version === 1, 'version 1 proven stable');
    await t.setPolicy(id, { stable_after: 60 });
    const put = await t.api.put(`/api/v1/agents/${id}/config`, { config: { heartbeat_interval: 1, exit_after_s: 0.5 }, reason: 'faster exits' });
    expect(put.body.apply).toEqual({ status: 'applied', running_version: 2 });
    expect((await t.api.post(`/api/v1/agents/${id}/restart`)).status).toBe(202);
    const back = await t.waitStatus(id, (s) => s.config_version === 3 && s.process_status === 'running' && s.recovery_status === 'success', 'rolled back and running');
    expect(back.stable_config_version).toBe(1);
    const config = (await t.api.get(`/api/v1/agents/${id}/config`)).body;
    expect(config).toMatchObject({ version: 3, config: { exit_after_s: 600 } });
    const versions = (await t.api.get(`/api/v1/agents/${id}/config/history`)).body.items;
    expect(versions[0]).toMatchObject({ version: 3, author: 'supervisor', config: { heartbeat_interval: 1, exit_after_s: 600 } });
    expect(versions[0].reason).toContain('automatic rollback to version 1');
    const rolled = (await t.history(id)).find((h) => h.event_type === 'config_rolled_back');
    expect(rolled.details).toMatchObject({ from_version: 2, to_version: 1, new_version: 3, diff: { changed: { exit_after_s: { from: 0.5, to: 600 } }, added: {}, removed: {} } });
    expect(rolled.details.reason).toContain('after configuration version 2 took effect');
    const event = await eventually(async () => events.find((e) => e.type === 'config.rolled_back' && e.agent_id === id), Boolean, 'the config.rolled_back event');
    expect(event).toMatchObject({ version: 3, details: { from_version: 2, to_version: 1, diff: { changed: { exit_after_s: { from: 0.5, to: 600 } } } } });
    expect((await recovery(id)).attempts[0]).toMatchObject({ trigger: 'config_crash_loop', recovery_strategy: 'config_rollback', status: 'succeeded' });
    await stopAgent(id);
  });
});

describe('manual recovery', () => {
  it('restarts at once (202), refuses a second request while it runs (409), and obeys permissions', async () => {
    const id = ids.ManualAgent;
    const first = await startHealthy(id, { heartbeat_interval: 1 });
    const res = await t.api.post(`/api/v1/agents/${id}/recovery`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ agent_id: id, in_progress: true, recovery_status: 'in_progress', trigger: 'manual' });
    const again = await t.api.post(`/api/v1/agents/${id}/recovery`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('recovery_in_progress');
    await t.waitStatus(id, (s) => s.pid !== first.pid && s.recovery_status === 'success', 'recovered by hand');
    expect((await recovery(id)).attempts).toEqual([expect.objectContaining({ attempt_number: 1, trigger: 'manual', recovery_strategy: 'restart', status: 'succeeded' })]);

    const ro = await t.userWith('read-only');
    expect((await ro.api.post(`/api/v1/agents/${id}/recovery`)).status).toBe(403);
    expect((await ro.api.get(`/api/v1/agents/${id}/recovery`)).status).toBe(200);
    const bound = await t.userWith('agent', id);
    expect((await bound.api.get(`/api/v1/agents/${id}/recovery`)).status).toBe(200);
    expect((await bound.api.get(`/api/v1/agents/${id}/recovery/policy`)).status).toBe(200);
    expect((await bound.api.post(`/api/v1/agents/${id}/recovery`)).status).toBe(403);
    expect((await bound.api.put(`/api/v1/agents/${id}/recovery/policy`, { max_retries: 100 })).status).toBe(403);
    expect((await bound.api.get(`/api/v1/agents/${ids.KilledAgent}/recovery`)).status).toBe(403);
    expect((await bound.api.get('/api/v1/recovery/stats')).status).toBe(403);
    const op = await t.userWith('operator');
    expect((await op.api.put(`/api/v1/agents/${id}/recovery/policy`, { max_retries: 4 })).status).toBe(200);
    await stopAgent(id);
  });
});

describe('the recovery policy API', () => {
  it('answers the defaults, validates each field, takes fractional seconds and records who changed it', async () => {
    const id = ids.ManualAgent;
    const fresh = await t.api.get(`/api/v1/agents/${ids.HogAgent}/recovery/policy`);
    expect(fresh.status).toBe(200);
    const bad = await t.api.put(`/api/v1/agents/${id}/recovery/policy`, { jitter: 0.3, max_retries: -1, retry_delay: 'soon', backoff_factor: 0.5, bogus: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['backoff_factor', 'bogus', 'jitter', 'max_retries', 'retry_delay']);
    expect((await t.api.put(`/api/v1/agents/${id}/recovery/policy`, {})).status).toBe(400);
    const ok = await t.api.put(`/api/v1/agents/${id}/recovery/policy`, { retry_delay: 0.05, jitter: 0.25, notification_channels: ['pager'] });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ agent_id: id, retry_delay: 0.05, jitter: 0.25, notification_channels: ['pager'], max_retries: 4, source: 'agent', updated_by: 'admin' });
    expect((await t.api.get(`/api/v1/agents/${id}/recovery/policy`)).body).toEqual(ok.body);
    const audit = (await t.api.get(`/api/v1/audit?action=recovery.policy.update&target=${id}`)).body.items[0];
    expect(audit.after).toMatchObject({ retry_delay: 0.05 });
    expect((await t.api.get('/api/v1/agents/security-00000000-0000-4000-8000-000000000000/recovery/policy')).status).toBe(404);
  });

  it('sums up recovery fleet-wide, by trigger and by action', async () => {
    const res = await t.api.get('/api/v1/recovery/stats');
    expect(res.status).toBe(200);
    const rows = await t.ams.db.knex('agent_recovery_attempts').whereIn('status', ['succeeded', 'failed']).select('status', 'trigger', 'recovery_strategy');
    expect(res.body.attempts).toBe(rows.length);
    expect(res.body.failed).toBe(rows.filter((r: { status: string }) => r.status === 'failed').length);
    expect(res.body.by_trigger).toMatchObject({ process_exit: expect.any(Object), config_crash_loop: { succeeded: 1 }, manual: { succeeded: 1 } });
    expect(res.body.by_action).toMatchObject({ restart: expect.any(Object), config_rollback: { succeeded: 1 } });
    expect(res.body.success_rate).toBeCloseTo(res.body.succeeded / res.body.attempts, 3);
  });
});
