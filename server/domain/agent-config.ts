// The configuration hierarchy (DESIGN.md): defaults < OPMAS_* environment < fleet stored
// < agent stored. Pure functions: validation of a stored layer, reading the environment
// layer, and the merge that reports each key's source.
import type { FieldIssue } from '../errors.js';
import { thresholdsProblem } from '../supervisor/health-rules.js';
import { ownValue } from './own.js';

export type ConfigValue = string | number | boolean | { [key: string]: unknown };
export type ConfigMap = Record<string, ConfigValue>;
export type ConfigSource = 'default' | 'environment' | 'fleet' | 'agent';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export const CONFIG_KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_KEYS = 200;

export const CONFIG_DEFAULTS: ConfigMap = {
  nats_url: 'nats://127.0.0.1:4222',
  log_level: 'INFO',
  metrics_enabled: true,
  heartbeat_interval: 30,
};

interface KeyRule {
  /** Why the value is not acceptable, or undefined. */
  check(value: unknown): string | undefined;
  /**
   * Parses the OPMAS_<KEY> environment text, or returns undefined when it does not parse.
   * Absent for keys that have no environment variable (the supervisor's per-agent keys).
   */
  fromEnv?(text: string): ConfigValue | undefined;
}

const asString = (text: string) => text;
const numberInRange = (min: number, max: number): KeyRule => ({
  check: (v) =>
    typeof v !== 'number' || !Number.isFinite(v) ? 'must be a number' : v < min || v > max ? `must be between ${min} and ${max}` : undefined,
  fromEnv: (t) => (t.trim() !== '' && Number.isFinite(Number(t)) ? Number(t) : undefined),
});
const booleanRule: KeyRule = {
  check: (v) => (typeof v === 'boolean' ? undefined : 'must be true or false'),
  fromEnv: (t) => BOOLEAN_WORDS.get(t.trim().toLowerCase()),
};
const BOOLEAN_WORDS: ReadonlyMap<string, boolean> = new Map([['true', true], ['1', true], ['yes', true], ['false', false], ['0', false], ['no', false]]);

/** Typed rules for the keys the AMS itself understands; other keys are free-form. Look up with `knownKeyRule`. */
export const KNOWN_KEYS: Readonly<Record<string, KeyRule>> = {
  nats_url: {
    check: (v) =>
      typeof v !== 'string' ? 'must be a string' : /^(nats|tls|ws|wss):\/\/[^\s]+$/.test(v) ? undefined : 'must be a nats://, tls://, ws:// or wss:// URL',
    fromEnv: asString,
  },
  log_level: {
    check: (v) => (typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`),
    fromEnv: (t) => t.trim().toUpperCase(),
  },
  metrics_enabled: booleanRule,
  heartbeat_interval: numberInRange(1, 3600),
  /** Seconds between resource samples of the fleet's processes (fleet layer; default 10 in the sampler). */
  metrics_interval: numberInRange(0.05, 3600),
  // The supervisor's keys (README "Lifecycle"): set per agent or fleet-wide, not from the environment.
  autostart: { check: booleanRule.check },
  stop_grace_period: { check: numberInRange(0, 3600).check },
  stop_timeout: { check: numberInRange(0, 3600).check },
  thresholds: { check: thresholdsProblem },
};

/** The rule of a known key; undefined for free-form keys, including names Object.prototype has (`constructor`). */
export function knownKeyRule(key: string): KeyRule | undefined {
  return ownValue(KNOWN_KEYS, key);
}

/** Every problem with a stored configuration layer (fleet or agent), one entry per bad key. */
export function validateConfigLayer(config: unknown, pathPrefix = ''): FieldIssue[] {
  const at = (key: string) => (pathPrefix ? `${pathPrefix}.${key}` : key);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return [{ path: pathPrefix, reason: 'must be an object of configuration keys', in: 'body' }];
  }
  const entries = Object.entries(config);
  const issues: FieldIssue[] = [];
  if (entries.length > MAX_KEYS) issues.push({ path: pathPrefix, reason: `must have at most ${MAX_KEYS} keys`, in: 'body' });
  for (const [key, value] of entries) {
    if (!CONFIG_KEY_PATTERN.test(key)) {
      issues.push({ path: at(key), reason: 'key must be lower-case letters, digits and _ (starting with a letter, at most 64)', in: 'body' });
      continue;
    }
    const rule = knownKeyRule(key);
    const problem = rule ? rule.check(value) : freeFormProblem(value);
    if (problem) issues.push({ path: at(key), reason: problem, in: 'body' });
  }
  return issues;
}

function freeFormProblem(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'must be a finite number';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return undefined;
  return 'must be a string, number, boolean or object';
}

/** The environment layer: OPMAS_<KEY> for each known key, parsed by the key's type; bad values are reported, not used. */
export function readEnvironmentLayer(env: NodeJS.ProcessEnv): { layer: ConfigMap; problems: string[] } {
  const layer: ConfigMap = {};
  const problems: string[] = [];
  for (const [key, rule] of Object.entries(KNOWN_KEYS)) {
    if (!rule.fromEnv) continue;
    const name = `OPMAS_${key.toUpperCase()}`;
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = rule.fromEnv(text);
    const problem = value === undefined ? 'does not parse' : rule.check(value);
    if (problem) problems.push(`${name} ${problem}; ignored`);
    else layer[key] = value as ConfigValue;
  }
  return { layer, problems };
}

export interface EffectiveConfig {
  config: ConfigMap;
  sources: Record<string, ConfigSource>;
}

/** Merges layers lowest first; a later layer's key replaces an earlier one's, and records its source. */
export function mergeConfig(layers: Array<{ source: ConfigSource; values: ConfigMap }>): EffectiveConfig {
  // Maps, then own properties: a stored key may be any name, `__proto__` and `constructor` included.
  const config = new Map<string, ConfigValue>();
  const sources = new Map<string, ConfigSource>();
  for (const { source, values } of layers) {
    for (const [key, value] of Object.entries(values)) {
      config.set(key, value);
      sources.set(key, source);
    }
  }
  return { config: Object.fromEntries(config), sources: Object.fromEntries(sources) };
}
