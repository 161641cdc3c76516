// The bundled AMS: restart delays (exponential, capped, never shrinking) and the environment it gets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESTART_POLICY, nextRestartDelay } from '../../src-main/host/restart-policy.js';

describe('nextRestartDelay', () => {
  it('doubles from the initial delay up to the cap with the default policy', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => nextRestartDelay(n))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('follows initial × factor^(attempt-1), never above the cap and never decreasing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 1, max: 5, noNaN: true }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 60 }),
        (initialDelayMs, factor, maxDelayMs, attempt) => {
          const policy = { initialDelayMs, factor, maxDelayMs };
          const d = nextRestartDelay(attempt, policy);
          expect(d).toBeLessThanOrEqual(maxDelayMs);
          expect(d).toBe(Math.min(Math.round(initialDelayMs * factor ** (attempt - 1)), maxDelayMs));
          expect(nextRestartDelay(attempt + 1, policy)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });

  it('refuses attempts that are not positive integers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => nextRestartDelay(bad, DEFAULT_RESTART_POLICY)).toThrow(RangeError);
  });
});

describe('host environment', () => {
  it('finds the bundled nats-server per platform and passes it unless the user chose one', async () => {
    const { bundledNatsServer, hostAmsEnvironment, platformDir } = await import('../../src-main/host/host-env.js');
    expect([platformDir('linux', 'x64'), platformDir('darwin', 'arm64'), platformDir('win32', 'x64')]).toEqual(['linux-x64', 'mac-arm64', 'win-x64']);
    const present = new Set(['/opt/OPMAS Console/resources/bin/nats-server', '/src/resources/bin/win-x64/nats-server.exe']);
    const lookup = { resourcesPath: '/opt/OPMAS Console/resources', sourceResources: '/src/resources', exists: (f: string) => present.has(f) };
    expect(bundledNatsServer({ ...lookup, packaged: true, platform: 'linux', arch: 'x64' })).toBe('/opt/OPMAS Console/resources/bin/nats-server');
    expect(bundledNatsServer({ ...lookup, packaged: false, platform: 'linux', arch: 'x64' })).toBeNull();
    expect(bundledNatsServer({ ...lookup, packaged: false, platform: 'win32', arch: 'x64' })).toBe('/src/resources/bin/win-x64/nats-server.exe');

    expect(hostAmsEnvironment({ PATH: '/usr/bin', NODE_OPTIONS: '--inspect', ELECTRON_RUN_AS_NODE: '1' }, '/x/nats-server')).toEqual({ PATH: '/usr/bin', OPMAS_NATS_SERVER_BIN: '/x/nats-server' });
    expect(hostAmsEnvironment({ OPMAS_NATS_SERVER_BIN: '/mine' }, '/x/nats-server').OPMAS_NATS_SERVER_BIN).toBe('/mine');
    expect(hostAmsEnvironment({ PATH: '/usr/bin' }, null)).toEqual({ PATH: '/usr/bin' });
  });
});
