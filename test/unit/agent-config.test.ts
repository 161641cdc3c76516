import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS, mergeConfig, readEnvironmentLayer, validateConfigLayer } from '../../server/domain/agent-config.js';

describe('mergeConfig', () => {
  it('lets each layer override the one below and records the source of every key', () => {
    const { config, sources } = mergeConfig([
      { source: 'default', values: CONFIG_DEFAULTS },
      { source: 'environment', values: { log_level: 'WARNING' } },
      { source: 'fleet', values: { log_level: 'ERROR', heartbeat_interval: 10, site: 'hb' } },
      { source: 'agent', values: { heartbeat_interval: 5 } },
    ]);
    expect(config).toEqual({ nats_url: CONFIG_DEFAULTS.nats_url, log_level: 'ERROR', metrics_enabled: true, heartbeat_interval: 5, site: 'hb' });
    expect(sources).toEqual({ nats_url: 'default', log_level: 'fleet', metrics_enabled: 'default', heartbeat_interval: 'agent', site: 'fleet' });
  });

  it('keeps the environment as the source when no stored layer sets the key', () => {
    const { sources } = mergeConfig([
      { source: 'default', values: CONFIG_DEFAULTS },
      { source: 'environment', values: { metrics_enabled: false } },
      { source: 'fleet', values: {} },
      { source: 'agent', values: {} },
    ]);
    expect(sources.metrics_enabled).toBe('environment');
    expect(sources.log_level).toBe('default');
  });
});

describe('validateConfigLayer', () => {
  it('accepts known keys with the right types and free-form keys of allowed kinds', () => {
    expect(
      validateConfigLayer({ log_level: 'DEBUG', heartbeat_interval: 1, metrics_enabled: false, nats_url: 'nats://h:4222', x: 's', y: 2, z: true, o: { a: [1] } }),
    ).toEqual([]);
  });

  it('names every bad key with its reason', () => {
    const issues = validateConfigLayer({ log_level: 'LOUD', heartbeat_interval: 0, metrics_enabled: 'yes', nats_url: 'http://x', list: [1], nil: null, 'Bad-Key': 1 });
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.reason]));
    expect(Object.keys(byPath).sort()).toEqual(['Bad-Key', 'heartbeat_interval', 'list', 'log_level', 'metrics_enabled', 'nats_url', 'nil']);
    expect(byPath.log_level).toContain('DEBUG, INFO, WARNING, ERROR, CRITICAL');
    expect(byPath.heartbeat_interval).toContain('between 1 and 3600');
  });

  it('rejects heartbeat_interval above 3600 and non-objects', () => {
    expect(validateConfigLayer({ heartbeat_interval: 3601 })).toHaveLength(1);
    expect(validateConfigLayer([1, 2])[0].reason).toMatch(/object/);
    expect(validateConfigLayer('x', 'config')[0].path).toBe('config');
  });
});

describe('readEnvironmentLayer', () => {
  it('reads OPMAS_<KEY> by type and reports values that do not fit', () => {
    const { layer, problems } = readEnvironmentLayer({
      OPMAS_LOG_LEVEL: 'debug',
      OPMAS_HEARTBEAT_INTERVAL: '15',
      OPMAS_METRICS_ENABLED: 'false',
      OPMAS_NATS_URL: 'not a url',
      UNRELATED: 'x',
    });
    expect(layer).toEqual({ log_level: 'DEBUG', heartbeat_interval: 15, metrics_enabled: false });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('OPMAS_NATS_URL');
  });
});
