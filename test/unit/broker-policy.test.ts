// Backoff policies and the nats-server configuration text.
import { describe, expect, it } from 'vitest';
import { nextRestartDelay, redactSecrets, renderNatsConfig, DEFAULT_RESTART_POLICY } from '../../server/broker/nats-server.js';
import { reconnectDelay } from '../../server/broker/connection.js';
import { brokerModeFromEnv } from '../../server/broker/index.js';

describe('nats-server restart backoff', () => {
  it('doubles from the first delay up to the cap', () => {
    const policy = { ...DEFAULT_RESTART_POLICY, initialDelayMs: 250, factor: 2, maxDelayMs: 30_000 };
    expect([1, 2, 3, 4, 5].map((n) => nextRestartDelay(n, policy))).toEqual([250, 500, 1000, 2000, 4000]);
    expect(nextRestartDelay(20, policy)).toBe(30_000);
    expect(nextRestartDelay(0, policy)).toBe(250);
  });

  it('never decreases as attempts grow', () => {
    let previous = 0;
    for (let n = 1; n < 40; n++) {
      const d = nextRestartDelay(n);
      expect(d).toBeGreaterThanOrEqual(previous);
      previous = d;
    }
  });
});

describe('broker reconnect backoff', () => {
  it('waits half the outage so far, within bounds', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 5000 };
    expect(reconnectDelay(0, policy)).toBe(100);
    expect(reconnectDelay(1000, policy)).toBe(500);
    expect(reconnectDelay(60_000, policy)).toBe(5000);
  });
});

describe('nats-server configuration', () => {
  it('listens where told, keeps JetStream in the store dir and preloads every account', () => {
    const text = renderNatsConfig({
      host: '127.0.0.1',
      port: 4333,
      storeDir: '/data/nats',
      auth: { operatorJwt: 'OPJWT', systemAccount: 'ASYS', preload: { ASYS: 'SYSJWT', AAPP: 'APPJWT' } },
    });
    expect(text).toContain('listen: "127.0.0.1:4333"');
    expect(text).toContain('jetstream { store_dir: "/data/nats" }');
    expect(text).toContain('operator: "OPJWT"');
    expect(text).toContain('system_account: "ASYS"');
    expect(text).toContain('resolver: MEMORY');
    expect(text).toContain('"AAPP": "APPJWT"');
  });

  it('quotes paths so that odd characters survive', () => {
    const text = renderNatsConfig({ host: '127.0.0.1', port: 1, storeDir: 'C:\\data "x"', auth: { operatorJwt: 'o', systemAccount: 's', preload: {} } });
    expect(text).toContain('store_dir: "C:\\\\data \\"x\\""');
  });

  it('redacts anything shaped like a JWT or a seed from server log lines', () => {
    const line = 'x eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJBQkMifQ.c2ln SUAM6ZNMXFUDHLOWDIT3MSJH5GOHJDZ3PIWJ5L6KJQ7W46N5Y7N4GJYBDE y';
    expect(redactSecrets(line)).toBe('x [jwt] [seed] y');
  });
});

describe('broker mode', () => {
  it('is external when a NATS URL is given, host otherwise, and OPMAS_NATS_MODE wins', () => {
    expect(brokerModeFromEnv({})).toBe('host');
    expect(brokerModeFromEnv({ OPMAS_NATS_URL: 'nats://nats.example:4222' })).toBe('external');
    expect(brokerModeFromEnv({ OPMAS_NATS_URL: 'nats://x:1', OPMAS_NATS_MODE: 'host' })).toBe('host');
    expect(() => brokerModeFromEnv({ OPMAS_NATS_MODE: 'cluster' })).toThrow(/host or external/);
  });
});
