// The supervisor's pure rules: the transition table, the recovery policy math, health from
// heartbeats and thresholds, the crash-loop guard, command lines and agent environments, and
// the parsing of captured output lines.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition, firstStepOf, PROCESS_STATES, TRANSITIONS } from '../../server/domain/state-machine.js';
import {
  actionFor, actionForAttempt, DEFAULT_RECOVERY_POLICY, isStable, nextAttemptNumber, nextRecoveryDelay, remainingAttempts, shouldEscalate,
} from '../../server/domain/recovery-policy.js';
import { effectiveThresholds, evaluateHealth, STARTUP_GRACE_S, thresholdsProblem } from '../../server/supervisor/health-rules.js';
import { configDiff, crashLoopDecision, sameConfig } from '../../server/supervisor/config-guard.js';
import { agentEnvironment, resolveCommand, splitCommand } from '../../server/supervisor/command.js';
import { parseLogLine } from '../../server/supervisor/log-capture.js';

describe('state machine', () => {
  it('allows exactly the table of DESIGN.md plus degraded -> stopping and starting -> failed', () => {
    const allowed = PROCESS_STATES.flatMap((from) => PROCESS_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(
      [
        'discovered->registered', 'registered->starting', 'starting->running', 'starting->failed', 'running->stopping', 'running->failed',
        'running->degraded', 'stopping->stopped', 'stopped->starting', 'failed->starting', 'degraded->running', 'degraded->failed', 'degraded->stopping',
      ].sort(),
    );
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...PROCESS_STATES].sort());
  });

  it('names the first step of each operator action, or nothing', () => {
    expect(firstStepOf('start', 'registered')).toBe('starting');
    expect(firstStepOf('start', 'running')).toBeUndefined();
    expect(firstStepOf('stop', 'degraded')).toBe('stopping');
    expect(firstStepOf('stop', 'failed')).toBeUndefined();
    expect(firstStepOf('restart', 'running')).toBe('stopping');
    expect(firstStepOf('restart', 'failed')).toBe('starting');
    expect(firstStepOf('restart', 'stopping')).toBeUndefined();
  });
});

describe('recovery policy', () => {
  const policy = { ...DEFAULT_RECOVERY_POLICY, retry_delay: 5, backoff_factor: 2, max_backoff: 300 };

  it('delays attempt n by min(retry_delay × factor^(n-1), max_backoff)', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map((n) => nextRecoveryDelay(policy, n))).toEqual([5, 10, 20, 40, 300, 300, 300]);
    expect(nextRecoveryDelay({ ...policy, retry_delay: 0 }, 3)).toBe(0);
    expect(nextRecoveryDelay({ ...policy, retry_delay: 0.25, backoff_factor: 1 }, 9)).toBe(0.25);
  });

  it('keeps a jittered delay within ±jitter of the base and under max_backoff', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 1, max: 10, noNaN: true }), fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 0.25, noNaN: true }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (delay, factor, n, jitter, r) => {
        const p = { ...policy, retry_delay: delay, backoff_factor: factor, jitter, max_backoff: 120 };
        const base = Math.min(delay * factor ** (n - 1), 120);
        const d = nextRecoveryDelay(p, n, r);
        return d >= base * (1 - jitter) - 1e-9 && d <= Math.min(base * (1 + jitter), 120) + 1e-9;
      }),
    );
  });

  it('counts the budget, escalates once at the threshold (capped by the budget), and knows stability', () => {
    expect(nextAttemptNumber(policy, { attempts: 0 })).toBe(1);
    expect(nextAttemptNumber(policy, { attempts: 3 })).toBeUndefined();
    expect(remainingAttempts(policy, 2)).toBe(1);
    expect(shouldEscalate(policy, 2, false, false)).toBe(false);
    expect(shouldEscalate(policy, 3, false, false)).toBe(true);
    expect(shouldEscalate(policy, 3, true, true)).toBe(false);
    expect(shouldEscalate({ ...policy, escalation_threshold: 10 }, 3, false, false)).toBe(true);
    expect(shouldEscalate({ ...policy, escalation_threshold: 1 }, 1, false, false)).toBe(true);
    expect(shouldEscalate({ ...policy, max_retries: 0 }, 0, true, false)).toBe(true);
    expect(isStable({ ...policy, stable_after: 60 }, 1000, 61_000)).toBe(true);
    expect(isStable({ ...policy, stable_after: 60 }, 1000, 60_999)).toBe(false);
  });

  it('picks the trigger’s action first and restarts after that', () => {
    expect(actionFor('dependency_failure')).toBe('dependency_reconnect');
    expect(actionFor('config_crash_loop')).toBe('config_rollback');
    expect(actionFor('process_exit')).toBe('restart');
    expect(actionForAttempt('dependency_failure', 1)).toBe('dependency_reconnect');
    expect(actionForAttempt('dependency_failure', 2)).toBe('restart');
  });
});

describe('health rules', () => {
  const base = { intervalS: 10, metrics: {}, thresholds: {} };
  it('goes healthy -> warning past 1.5 intervals -> critical at 3, unknown when never heard', () => {
    expect(evaluateHealth({ ...base, nowMs: 1000 }).health).toBe('unknown');
    expect(evaluateHealth({ ...base, lastHeartbeatMs: 0, nowMs: 15_000 }).health).toBe('healthy');
    const warning = evaluateHealth({ ...base, lastHeartbeatMs: 0, nowMs: 15_001 });
    expect(warning.health).toBe('warning');
    expect(warning.reasons[0]).toMatchObject({ kind: 'heartbeat', level: 'warning', missed: 1 });
    expect(evaluateHealth({ ...base, lastHeartbeatMs: 0, nowMs: 29_999 }).health).toBe('warning');
    const critical = evaluateHealth({ ...base, lastHeartbeatMs: 0, nowMs: 30_000 });
    expect(critical.health).toBe('critical');
    expect(critical.reasons[0]).toMatchObject({ kind: 'heartbeat', level: 'critical', missed: 3, last_heartbeat: new Date(0).toISOString() });
  });

  it('gives a silent supervised process its start-up grace, then calls it critical', () => {
    expect(evaluateHealth({ ...base, intervalS: 1, processStartMs: 0, nowMs: STARTUP_GRACE_S * 1000 - 1 }).health).toBe('unknown');
    const r = evaluateHealth({ ...base, intervalS: 1, processStartMs: 0, nowMs: STARTUP_GRACE_S * 1000 });
    expect(r.health).toBe('critical');
    expect(r.reasons[0].message).toContain('since the process started');
    expect(evaluateHealth({ ...base, intervalS: 30, processStartMs: 0, nowMs: 89_999 }).health).toBe('unknown');
  });

  it('adds threshold breaches with metric, value and threshold; the worst level wins', () => {
    const thresholds = effectiveThresholds({ cpu_percent: { warning: 50 }, memory_mb: null });
    expect(thresholds.cpu_percent).toEqual({ warning: 50, critical: 95 });
    expect(thresholds.memory_mb).toBeUndefined();
    const r = evaluateHealth({ ...base, lastHeartbeatMs: 0, nowMs: 1, thresholds, metrics: { cpu_percent: 60, error_rate: 0.3, memory_mb: 5000 } });
    expect(r.health).toBe('critical');
    expect(r.reasons).toEqual([
      expect.objectContaining({ kind: 'threshold', level: 'warning', metric: 'cpu_percent', value: 60, threshold: 50 }),
      expect.objectContaining({ kind: 'threshold', level: 'critical', metric: 'error_rate', value: 0.3, threshold: 0.25 }),
    ]);
  });

  it('validates the thresholds config key', () => {
    expect(thresholdsProblem({ cpu_percent: { warning: 80, critical: 95 }, memory_mb: null })).toBeUndefined();
    expect(thresholdsProblem({ cpu: 80 })).toContain('not a thresholded metric');
    expect(thresholdsProblem({ cpu_percent: { warning: 90, critical: 80 } })).toContain('must not be above');
    expect(thresholdsProblem({ cpu_percent: { warning: -1 } })).toContain('non-negative');
    expect(thresholdsProblem([1])).toContain('object');
  });
});

describe('crash-loop guard', () => {
  const g = { runningVersion: 3, runningSinceMs: 0, stableVersion: 2, runningConfig: { a: 2 }, stableConfig: { a: 1 }, stableAfterS: 60, nowMs: 10_000 };
  it('rolls back a failure within stable_after of a new version to the last good one', () => {
    expect(crashLoopDecision(g)).toMatchObject({ rollback: true, to: 2 });
    expect(crashLoopDecision({ ...g, nowMs: 61_000 })).toMatchObject({ rollback: false });
    expect(crashLoopDecision({ ...g, stableVersion: null })).toMatchObject({ rollback: false });
    expect(crashLoopDecision({ ...g, stableVersion: 3 })).toMatchObject({ rollback: false });
    expect(crashLoopDecision({ ...g, runningConfig: { a: 1 } })).toMatchObject({ rollback: false });
    expect(crashLoopDecision({ ...g, stableVersion: 0, stableConfig: {} })).toMatchObject({ rollback: true, to: 0 });
  });

  it('diffs configurations key by key, ignoring key order', () => {
    expect(configDiff({ a: 1, b: { x: 1, y: 2 }, c: 3 }, { a: 2, b: { y: 2, x: 1 }, d: 4 })).toEqual({ added: { d: 4 }, removed: { c: 3 }, changed: { a: { from: 1, to: 2 } } });
    expect(sameConfig({ a: { b: 1, c: 2 } }, { a: { c: 2, b: 1 } })).toBe(true);
  });
});

describe('commands and environment', () => {
  it('splits command lines like a shell would, without one', () => {
    expect(splitCommand('node agent.mjs --flag')).toEqual(['node', 'agent.mjs', '--flag']);
    expect(splitCommand(`python3 "my agent.py" 'a b' c\\ d`)).toEqual(['python3', 'my agent.py', 'a b', 'c d']);
    expect(splitCommand('x ""')).toEqual(['x', '']);
    expect(() => splitCommand('x "open')).toThrow(/unterminated/);
    expect(() => splitCommand('   ')).toThrow(/empty/);
  });

  it('runs `node` on the AMS runtime and finds other commands in the package or on PATH', () => {
    const runtime = { execPath: '/opt/app/runtime', electron: false, platform: 'linux' as const };
    expect(resolveCommand('node agent.mjs', '/pkg', '', runtime)).toEqual({ file: '/opt/app/runtime', args: ['agent.mjs'], node: true });
    expect(resolveCommand('sh -c true', '/pkg', '/usr/bin:/bin', runtime).file).toMatch(/\/sh$/);
    expect(() => resolveCommand('./nothing-here', '/pkg', '', runtime)).toThrow(/does not exist/);
    expect(() => resolveCommand('no-such-command-xyz', '/pkg', '/usr/bin', runtime)).toThrow(/not found on PATH/);
  });

  it('builds the environment from nothing: PATH, HOME and the OPMAS_* variables only', () => {
    const env = agentEnvironment({
      agentId: 'a-1', natsUrl: 'nats://h:1', credsFile: '/c', config: { k: 1 }, agentSdk: '/sdk.mjs', node: true,
      amsEnv: { PATH: '/bin', HOME: '/home/x', OPMAS_ADMIN_PASSWORD: 'secret', OPMAS_NATS_ACCOUNT_SEED: 'SA...', OPMAS_JWT_SECRET: 'x', FOO: 'bar' },
      runtime: { execPath: '/e', electron: true, platform: 'linux' },
    });
    expect(env).toEqual({
      PATH: '/bin', HOME: '/home/x', OPMAS_AGENT_ID: 'a-1', OPMAS_NATS_URL: 'nats://h:1', OPMAS_NATS_CREDS: '/c', OPMAS_CONFIG: '{"k":1}', OPMAS_AGENT_SDK: '/sdk.mjs',
      ELECTRON_RUN_AS_NODE: '1',
    });
  });
});

describe('captured output', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('parses JSON lines for level, message, time and fields; plain lines by stream', () => {
    expect(parseLogLine('hello', 'stdout', now)).toEqual({ level: 'INFO', message: 'hello', context: null, timestamp: now });
    expect(parseLogLine('boom\r', 'stderr', now)).toMatchObject({ level: 'ERROR', message: 'boom' });
    expect(parseLogLine('   ', 'stdout', now)).toBeUndefined();
    expect(parseLogLine('{"level":"WARNING","message":"m","time":"2026-02-03T04:05:06.000Z","agent_id":"a","context":{"x":1},"y":2}', 'stderr', now)).toEqual({
      level: 'WARNING', message: 'm', context: { x: 1, y: 2 }, timestamp: new Date('2026-02-03T04:05:06.000Z'),
    });
    expect(parseLogLine('{"level":30,"msg":"pino","pid":1}', 'stdout', now)).toMatchObject({ level: 'INFO', message: 'pino', context: { pid: 1 } });
    expect(parseLogLine('{"level":"fatal","msg":"x"}', 'stdout', now)?.level).toBe('CRITICAL');
    expect(parseLogLine('{"no":"message"}', 'stdout', now)).toMatchObject({ level: 'INFO', message: '{"no":"message"}', context: { no: 'message' } });
    expect(parseLogLine('{broken json', 'stdout', now)).toMatchObject({ message: '{broken json', context: null });
    expect(parseLogLine('{"level":"INFO","message":"sent over NATS too","nats":true}', 'stderr', now)).toBeUndefined();
  });
});
