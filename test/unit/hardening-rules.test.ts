// Pure rules of the hardening work: JSON depth and size limits measured without recursion,
// own-property lookups in the configuration merge, diff and log parsing, the client address
// behind trusted proxies, the relaxed heartbeat status word, and the .env.discovery text checks.
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { jsonLimitProblem, MAX_JSON_DEPTH, MAX_JSON_NODES, protoKeyPath } from '../../server/domain/json-limits.js';
import { knownKeyRule, mergeConfig, readEnvironmentLayer, validateConfigLayer } from '../../server/domain/agent-config.js';
import { configDiff } from '../../server/supervisor/config-guard.js';
import { parseLogLine } from '../../server/supervisor/log-capture.js';
import { clientAddress, parseTrustedProxies } from '../../server/security/client-address.js';
import { HeartbeatBody, isKnownReportedStatus, LogBody } from '../../server/broker/protocol.js';
import { createStatusWordWatch } from '../../server/monitoring/status-words.js';
import { parseDiscoveryText } from '../../server/scanner/package-reader.js';
import { parseDiscoveryFile } from '../../server/agent-sdk/discovery.js';

/** `{"a":{"a":...}}` `depth` levels deep, built without recursion. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('JSON limits', () => {
  it('accepts a value at the depth limit and names the first level past it', () => {
    expect(jsonLimitProblem(nested(MAX_JSON_DEPTH))).toBeUndefined();
    const problem = jsonLimitProblem(nested(MAX_JSON_DEPTH + 1));
    expect(problem).toMatchObject({ limit: 'depth', path: Array(MAX_JSON_DEPTH).fill('a').join('.') });
    expect(problem!.reason).toContain(String(MAX_JSON_DEPTH));
  });

  it('measures a value nested far deeper than the stack allows without overflowing', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(jsonLimitProblem(deep)?.limit).toBe('depth');
    expect(jsonLimitProblem(nested(100_000))?.limit).toBe('depth');
  });

  it('counts keys and array elements over the whole value', () => {
    expect(jsonLimitProblem(Array.from({ length: MAX_JSON_NODES }, () => 0))).toBeUndefined();
    expect(jsonLimitProblem({ a: Array.from({ length: MAX_JSON_NODES }, () => ({})) })).toMatchObject({ limit: 'nodes' });
    expect(jsonLimitProblem(Object.fromEntries(Array.from({ length: MAX_JSON_NODES + 1 }, (_, i) => [`k${i}`, i])))).toMatchObject({ limit: 'nodes', path: '' });
  });

  it('never throws and agrees with a recursive measure on random JSON', () => {
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 1, max: 6 }), (value, limit) => {
        const problem = jsonLimitProblem(value, limit, 1_000_000);
        expect(problem === undefined).toBe(depthOf(value) <= limit);
      }),
      { seed: 11, numRuns: 300 },
    );
  });

  it('finds where a __proto__ key is', () => {
    expect(protoKeyPath(JSON.parse('{"config": {"a": [1, {"__proto__": {}}]}}'))).toBe('config.a.1.__proto__');
    expect(protoKeyPath({ a: 1 })).toBeUndefined();
  });
});

describe('own-property lookups', () => {
  it('treats configuration keys named like Object.prototype members as free-form keys', () => {
    expect(knownKeyRule('constructor')).toBeUndefined();
    expect(knownKeyRule('heartbeat_interval')).toBeDefined();
    expect(validateConfigLayer({ constructor: 1, valueof: 'x' })).toEqual([]);
    expect(validateConfigLayer(JSON.parse('{"__proto__": 1, "toString": 2}')).map((i) => i.path)).toEqual(['__proto__', 'toString']);
  });

  it('merges layers with keys such as __proto__ as own keys, without touching prototypes', () => {
    const fleet = JSON.parse('{"__proto__": {"polluted": true}, "constructor": "fleet"}');
    const { config, sources } = mergeConfig([
      { source: 'default', values: { log_level: 'INFO' } },
      { source: 'fleet', values: fleet },
    ]);
    expect(Object.keys(config)).toEqual(['log_level', '__proto__', 'constructor']);
    expect(Object.getPrototypeOf(config)).toBe(Object.prototype);
    expect((config as Record<string, unknown>).polluted).toBeUndefined();
    expect(sources.constructor).toBe('fleet');
    expect(Object.hasOwn(sources, '__proto__')).toBe(true);
  });

  it('reads environment booleans only from the words it knows', () => {
    const { layer, problems } = readEnvironmentLayer({ OPMAS_METRICS_ENABLED: 'constructor' });
    expect(layer).toEqual({});
    expect(problems).toEqual([expect.stringContaining('OPMAS_METRICS_ENABLED')]);
    expect(readEnvironmentLayer({ OPMAS_METRICS_ENABLED: 'no' }).layer).toEqual({ metrics_enabled: false });
  });

  it('diffs configurations with a constructor key as an added key', () => {
    expect(configDiff({ a: 1 }, { a: 1, constructor: 2 })).toEqual({ added: { constructor: 2 }, removed: {}, changed: {} });
    expect(configDiff({ constructor: 2 }, {})).toEqual({ added: {}, removed: { constructor: 2 }, changed: {} });
  });

  it('keeps a __proto__ key of a JSON log line as context, and a line nested too deep as plain text', () => {
    const line = parseLogLine('{"msg": "hi", "__proto__": {"x": 1}, "context": {"constructor": 3}}', 'stdout', new Date(0))!;
    expect(line.message).toBe('hi');
    expect(Object.keys(line.context!)).toEqual(['constructor', '__proto__']);
    expect(Object.getPrototypeOf(line.context)).toBe(Object.prototype);
    const deep = `{"msg": "deep", "a": ${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const plain = parseLogLine(deep, 'stdout', new Date(0))!;
    expect(plain).toMatchObject({ message: deep, context: null });
    expect(() => JSON.stringify(plain)).not.toThrow();
  });

  it("reads an agent package's defaults with any key as an own key", () => {
    const fields = parseDiscoveryFile('__proto__=x\nconstructor=y\nAGENT_NAME=A\n');
    expect(Object.keys(fields)).toEqual(['__proto__', 'constructor', 'AGENT_NAME']);
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
  });
});

describe('client address', () => {
  const trusted = parseTrustedProxies('10.0.0.0/8, 192.168.1.5, fd00::/8');

  it('is the socket peer unless that peer is a trusted proxy', () => {
    expect(clientAddress('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:203.0.113.9', undefined, trusted)).toBe('203.0.113.9');
    expect(clientAddress('10.1.2.3', undefined, trusted)).toBe('10.1.2.3');
  });

  it('takes the X-Forwarded-For entry the trusted proxies vouch for, never one a client wrote', () => {
    expect(clientAddress('10.1.2.3', '198.51.100.7', trusted)).toBe('198.51.100.7');
    // The client claimed 1.2.3.4; the proxy appended the real peer.
    expect(clientAddress('10.1.2.3', '1.2.3.4, 198.51.100.7', trusted)).toBe('198.51.100.7');
    // Two trusted hops.
    expect(clientAddress('::ffff:10.1.2.3', '1.2.3.4, 198.51.100.7, 192.168.1.5', trusted)).toBe('198.51.100.7');
    expect(clientAddress('fd00::1', '[2001:db8::5]', trusted)).toBe('2001:db8::5');
    // Every hop trusted: the leftmost.
    expect(clientAddress('10.1.2.3', '10.9.9.9', trusted)).toBe('10.9.9.9');
    // Garbage from the trusted proxy: the proxy is all that is known.
    expect(clientAddress('10.1.2.3', 'not-an-ip', trusted)).toBe('10.1.2.3');
  });

  it('believes no header when no proxy is trusted', () => {
    expect(clientAddress('127.0.0.1', '1.2.3.4', parseTrustedProxies(undefined))).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '1.2.3.4', parseTrustedProxies(''))).toBe('127.0.0.1');
  });

  it('refuses entries that are not addresses or ranges', () => {
    for (const bad of ['proxy.example', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
      expect(() => parseTrustedProxies(bad), bad).toThrow(/--trust-proxy/);
    }
    expect(parseTrustedProxies('127.0.0.1,::1').entries).toEqual(['127.0.0.1', '::1']);
  });
});

describe('heartbeat status word', () => {
  const beat = (status: unknown) => ({ agent_id: 'a', status, timestamp: '2026-11-24T10:00:00Z', uptime: 1 });

  it('accepts any short word as proof of life and knows the protocol words', () => {
    for (const word of ['ready', 'healthy', 'OK', 'in-service', 'v1.2_up', 'x'.repeat(20)]) expect(HeartbeatBody.safeParse(beat(word)).success, word).toBe(true);
    for (const word of ['', 'two words', 'x'.repeat(21), 'naïve', '-dash', 3, null]) expect(HeartbeatBody.safeParse(beat(word)).success, String(word)).toBe(false);
    expect(isKnownReportedStatus('degraded')).toBe(true);
    expect(isKnownReportedStatus('healthy')).toBe(false);
    expect(isKnownReportedStatus('READY')).toBe(false);
  });

  it('counts unknown words and logs at most once per agent per minute', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    let now = 0;
    const watch = createStatusWordWatch({ logger, now: () => now });
    watch.note('a', 'ready');
    watch.note('a', 'healthy');
    watch.note('a', 'healthy');
    watch.note('b', 'OK');
    now = 61_000;
    watch.note('a', 'healthy');
    expect(watch.unknown()).toBe(4);
    expect(lines.map((l) => JSON.parse(l)).map((l) => [l.agent, l.status])).toEqual([['a', 'healthy'], ['b', 'OK'], ['a', 'healthy']]);
  });

  it('drops a log message whose context nests past the limit', () => {
    const context = nested(MAX_JSON_DEPTH + 1) as Record<string, unknown>;
    expect(LogBody.safeParse({ level: 'INFO', message: 'm', timestamp: '2026-11-24T10:00:00Z', context }).success).toBe(false);
  });
});

describe('.env.discovery text', () => {
  const text = (s: string) => new TextEncoder().encode(s);

  it('refuses NUL bytes, other control characters and invalid UTF-8, naming the line', () => {
    expect(parseDiscoveryText(text('AGENT_NAME=A\nAGENT_VERSION=1.0.0\u0000\n'))).toEqual({ problem: 'contains a NUL byte on line 2' });
    expect(parseDiscoveryText(text('AGENT_NAME=A\u001b[31m\n'))).toEqual({ problem: 'contains the control character U+001B on line 1' });
    expect(parseDiscoveryText(text('A=1\nB=\u0085\n'))).toEqual({ problem: 'contains the control character U+0085 on line 2' });
    expect(parseDiscoveryText(Uint8Array.from([...text('A=1\nB='), 0xff, 0x0a]))).toEqual({ problem: 'is not valid UTF-8 text (line 2)' });
    expect(parseDiscoveryText(text('AGENT_DESCRIPTION=tab\there\r\nAGENT_NAME=A\r\n'))).toEqual({ fields: { AGENT_DESCRIPTION: 'tab\there', AGENT_NAME: 'A' }, duplicates: [] });
  });

  it('names a duplicate key and both of its lines', () => {
    const parsed = parseDiscoveryText(text('# comment\nAGENT_NAME=A\n\nAGENT_VERSION=1.0.0\nexport AGENT_NAME=B\n'));
    expect(parsed).toEqual({ fields: { AGENT_NAME: 'B', AGENT_VERSION: '1.0.0' }, duplicates: ['AGENT_NAME is set twice, on line 2 and on line 5'] });
  });
});
