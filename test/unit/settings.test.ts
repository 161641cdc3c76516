import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORT, defaultDataDir, parseSettings, SettingsError } from '../../server/settings.js';
import { majorOf } from '../../server/http/versioning.js';

describe('parseSettings', () => {
  it('uses loopback, the default port and the per-user data dir by default', () => {
    const s = parseSettings([], { HOME: '/home/op' });
    expect(s).toMatchObject({ host: '127.0.0.1', port: DEFAULT_PORT, dataDir: '/home/op/.local/share/opmas-console', logLevel: 'info' });
    expect(s.dbUrl).toBeUndefined();
  });

  it('prefers flags over OPMAS_* variables', () => {
    const s = parseSettings(['--port', '0', '--data-dir', 'rel/dir'], { OPMAS_PORT: '9000', OPMAS_DB_URL: 'postgres://u@h/db', OPMAS_HOST: '0.0.0.0' });
    expect(s.port).toBe(0);
    expect(s.dataDir).toBe(path.resolve('rel/dir'));
    expect(s.dbUrl).toBe('postgres://u@h/db');
    expect(s.host).toBe('0.0.0.0');
  });

  it('keeps raw samples 7 days and rollups 30, 90 and 365 days unless told otherwise', () => {
    expect(parseSettings([], { HOME: '/h' })).toMatchObject({ metricsRetentionDays: 7, metrics1mRetentionDays: 30, metrics5mRetentionDays: 90, metrics1hRetentionDays: 365 });
    const s = parseSettings(['--metrics-1h-retention-days', '730'], { HOME: '/h', OPMAS_METRICS_1M_RETENTION_DAYS: '14', OPMAS_METRICS_5M_RETENTION_DAYS: '60' });
    expect(s).toMatchObject({ metrics1mRetentionDays: 14, metrics5mRetentionDays: 60, metrics1hRetentionDays: 730 });
    expect(() => parseSettings(['--metrics-5m-retention-days', '0'], { HOME: '/h' })).toThrow(/--metrics-5m-retention-days must be an integer/);
  });

  it('refuses bad values with a message naming the flag', () => {
    expect(() => parseSettings(['--port', '70000'], {})).toThrow(/--port/);
    expect(() => parseSettings(['--db-url', 'mysql://x'], {})).toThrow(/--db-url/);
    expect(() => parseSettings(['--log-level', 'loud'], {})).toThrow(SettingsError);
    expect(() => parseSettings(['--unknown'], {})).toThrow(SettingsError);
  });

  it('reads the limits and the trusted proxies, refusing an entry that is no address or range', () => {
    const defaults = parseSettings([], {});
    expect(defaults).toMatchObject({ loginRateLimitPerMinute: 10, authFailureRateLimitPerMinute: 30, healthRateLimitPerMinute: 60_000, trustProxy: [] });
    const s = parseSettings(['--trust-proxy', '10.0.0.0/8, ::1', '--auth-failure-rate-limit', '5'], { OPMAS_HEALTH_RATE_LIMIT: '100', OPMAS_TRUST_PROXY: '192.0.2.1' });
    expect(s).toMatchObject({ trustProxy: ['10.0.0.0/8', '::1'], authFailureRateLimitPerMinute: 5, healthRateLimitPerMinute: 100 });
    expect(parseSettings([], { OPMAS_TRUST_PROXY: '192.0.2.1' }).trustProxy).toEqual(['192.0.2.1']);
    expect(() => parseSettings(['--trust-proxy', 'lb.example'], {})).toThrow(SettingsError);
    expect(() => parseSettings(['--trust-proxy', '10.0.0.0/40'], {})).toThrow(/--trust-proxy/);
    expect(() => parseSettings(['--auth-failure-rate-limit', '0'], {})).toThrow(/--auth-failure-rate-limit/);
  });

  it('knows the platform data dirs', () => {
    expect(defaultDataDir({ HOME: '/Users/op' }, 'darwin')).toBe('/Users/op/Library/Application Support/opmas-console');
    expect(defaultDataDir({ HOME: '/h', XDG_DATA_HOME: '/x' }, 'linux')).toBe('/x/opmas-console');
  });
});

describe('API version selection', () => {
  it('takes the major of 1, v1, 1.0 and 1.2.3 and rejects the rest', () => {
    expect(['1', 'v1', '1.0', '1.2.3'].map(majorOf)).toEqual(['1', '1', '1', '1']);
    expect(majorOf('latest')).toBeUndefined();
    expect(majorOf('2')).toBe('2');
  });
});
