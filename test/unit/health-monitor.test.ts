// The supervisor's health monitor, on a clock of its own: a heartbeat that arrives before the
// start of its process is recorded (a fast agent on a busy host) belongs to that process, and
// every running agent's health can be reported again unchanged (after its host was called down).
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthMonitor } from '../../server/supervisor/health-monitor.js';
import { DEFAULT_THRESHOLDS } from '../../server/supervisor/health-rules.js';

const AGENT = 'security-00000000-0000-4000-8000-000000000001';
const config = { intervalS: 1, thresholds: DEFAULT_THRESHOLDS };

function monitorAt(clock: { now: number }) {
  const written: Array<{ to: string; details?: Record<string, unknown> }> = [];
  const monitor = createHealthMonitor({
    status: { setHealth: async (_id, to, _reasons, details) => void written.push({ to, details }) },
    logger: pino({ level: 'silent' }),
    onChange: () => undefined,
    ping: async () => undefined,
    broker: () => ({ down: false, downMsSince: () => 0 }),
    configOf: async () => config,
    now: () => clock.now,
  });
  monitors.push(monitor);
  return { monitor, written };
}
const monitors: Array<ReturnType<typeof createHealthMonitor>> = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
});

describe('health monitor', () => {
  it("keeps a process's first heartbeat that arrived before its start was recorded", async () => {
    const clock = { now: 10_000 };
    const { monitor, written } = monitorAt(clock);
    const startedAt = new Date(9_900);
    monitor.heartbeat(AGENT, new Date(9_950));
    clock.now = 10_050;
    monitor.processStarted(AGENT, startedAt, config);
    await monitor.settle();
    expect(monitor.health(AGENT)).toBe('healthy');
    expect(written.at(-1)?.to).toBe('healthy');
  });

  it("does not count a heartbeat from before the process's start", async () => {
    const clock = { now: 10_000 };
    const { monitor } = monitorAt(clock);
    monitor.heartbeat(AGENT, new Date(9_000));
    monitor.processStarted(AGENT, new Date(9_900), config);
    await monitor.settle();
    expect(monitor.health(AGENT)).not.toBe('healthy');
    expect(monitor.view(AGENT)?.last_heartbeat).toBeNull();
  });

  it('reports the health of every running agent again, unchanged, with the cause', async () => {
    const clock = { now: 10_000 };
    const { monitor, written } = monitorAt(clock);
    monitor.processStarted(AGENT, new Date(9_900), config);
    monitor.heartbeat(AGENT, new Date(10_000));
    await monitor.settle();
    const before = written.length;
    monitor.reportAll('lease_regained');
    await monitor.settle();
    expect(written.slice(before)).toEqual([{ to: 'healthy', details: { cause: 'lease_regained' } }]);
    monitor.processEnded(AGENT);
    await monitor.settle();
    const after = written.length;
    monitor.reportAll('host_resync');
    await monitor.settle();
    expect(written.length).toBe(after);
  });
});
