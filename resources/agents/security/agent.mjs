// SecurityAgent: reads auth and security log events from its topics, flags failed logins
// (and a burst of them from one source as brute force) and sudo use, and publishes a finding
// for each on its findings topic. Plain Node; the SDK comes from the AMS (OPMAS_AGENT_SDK).
//
// An event is a JSON object with a `message` (and optionally `host`, `user`, `source_ip`,
// `timestamp`), or a plain text line. Config keys of its own: `failed_login_threshold`
// (failed logins from one source within `window_s` seconds that make a brute-force finding).
import { fileURLToPath, pathToFileURL } from 'node:url';

const sdkPath = process.env.OPMAS_AGENT_SDK || fileURLToPath(new URL('../../../out/agent-sdk/index.mjs', import.meta.url));
const { createAgentRuntime, readPackageDefaults } = await import(pathToFileURL(sdkPath).href);

const RULES = [
  { type: 'failed_login', severity: 'medium', pattern: /failed password|authentication failure|failed login|invalid user|login incorrect/i },
  { type: 'sudo', severity: 'low', pattern: /\bsudo\b/i },
];

const defaults = readPackageDefaults(fileURLToPath(new URL('.', import.meta.url)));
const counts = { findings: 0, failed_logins: 0, sudo_events: 0 };
/** source -> timestamps (ms) of its recent failed logins */
const recentFailures = new Map();

const positiveNumber = (min, max) => (v) => (v === undefined || (typeof v === 'number' && v >= min && v <= max) ? undefined : `must be a number from ${min} to ${max}`);
const checks = { failed_login_threshold: positiveNumber(1, 100000), window_s: positiveNumber(1, 86400) };

const agent = createAgentRuntime({
  defaultTopics: defaults.topics,
  defaultFindingsTopic: defaults.findingsTopic,
  validateConfig(config) {
    for (const [key, check] of Object.entries(checks)) {
      const problem = check(config[key]);
      if (problem) return `${key} ${problem}`;
    }
    return undefined;
  },
  onReload() {
    recentFailures.clear();
  },
  extraMetrics: () => ({ ...counts }),
  // Cumulative counts: the AMS charts them as per-second rates.
  metricsMeta: {
    findings: { kind: 'counter', unit: 'findings' },
    failed_logins: { kind: 'counter', unit: 'logins' },
    sudo_events: { kind: 'counter', unit: 'events' },
  },
});

function settings() {
  const c = agent.config;
  return { threshold: c.failed_login_threshold ?? 5, windowMs: (c.window_s ?? 60) * 1000 };
}

function toEvent(body) {
  if (typeof body === 'string' && body.trim()) return { message: body };
  if (body && typeof body === 'object' && typeof body.message === 'string') return body;
  return undefined;
}

function finding(rule, event, topic, extra = {}) {
  counts.findings += 1;
  agent.publish(agent.findingsTopic(), {
    agent_id: agent.agentId,
    type: rule.type,
    severity: rule.severity,
    topic,
    source: event.source_ip ?? event.host ?? 'unknown',
    user: event.user,
    message: event.message,
    timestamp: new Date().toISOString(),
    ...extra,
  });
}

agent.onTopics((body, topic) => {
  const started = performance.now();
  const event = toEvent(body);
  if (!event) {
    agent.recordEvent({ failed: true, ms: performance.now() - started });
    agent.log('WARNING', 'dropped an event without a message', { topic });
    return;
  }
  for (const rule of RULES) {
    if (!rule.pattern.test(event.message)) continue;
    if (rule.type === 'failed_login') {
      counts.failed_logins += 1;
      const source = event.source_ip ?? event.host ?? 'unknown';
      const { threshold, windowMs } = settings();
      const now = Date.now();
      const times = (recentFailures.get(source) ?? []).filter((t) => now - t < windowMs);
      times.push(now);
      recentFailures.set(source, times);
      if (times.length === threshold) {
        finding({ type: 'brute_force', severity: 'high' }, event, topic, { count: times.length, window_s: windowMs / 1000 });
      }
    } else if (rule.type === 'sudo') {
      counts.sudo_events += 1;
    }
    finding(rule, event, topic);
  }
  agent.recordEvent({ ms: performance.now() - started });
});

await agent.start();
agent.log('INFO', 'SecurityAgent started', { topics: agent.topics(), findings_topic: agent.findingsTopic() });
