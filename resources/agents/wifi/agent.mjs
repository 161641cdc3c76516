// WifiAgent: watches Wi-Fi events and flags a deauthentication flood: at least
// `deauth_threshold` deauth frames for one BSSID within `window_s` seconds (one finding per
// BSSID per window). Plain Node; the SDK comes from the AMS (OPMAS_AGENT_SDK).
//
// An event is a JSON object `{type: "deauth", bssid, client?}`, or a text line that mentions
// "deauth" and a MAC address (taken as the BSSID).
import { fileURLToPath, pathToFileURL } from 'node:url';

const sdkPath = process.env.OPMAS_AGENT_SDK || fileURLToPath(new URL('../../../out/agent-sdk/index.mjs', import.meta.url));
const { createAgentRuntime, readPackageDefaults } = await import(pathToFileURL(sdkPath).href);

const MAC = /\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/i;
const defaults = readPackageDefaults(fileURLToPath(new URL('.', import.meta.url)));
const counts = { deauth_frames: 0, floods: 0 };
/** bssid -> {times: ms[], flaggedAt?: ms} */
const perBssid = new Map();

const agent = createAgentRuntime({
  defaultTopics: defaults.topics,
  defaultFindingsTopic: defaults.findingsTopic,
  validateConfig(config) {
    const t = config.deauth_threshold;
    if (t !== undefined && !(Number.isInteger(t) && t >= 2 && t <= 100000)) return 'deauth_threshold must be an integer from 2 to 100000';
    const w = config.window_s;
    if (w !== undefined && !(typeof w === 'number' && w > 0 && w <= 3600)) return 'window_s must be a number of seconds up to 3600';
    return undefined;
  },
  onReload() {
    perBssid.clear();
  },
  extraMetrics: () => ({ ...counts }),
  // Cumulative counts: the AMS charts them as per-second rates.
  metricsMeta: {
    deauth_frames: { kind: 'counter', unit: 'frames' },
    floods: { kind: 'counter', unit: 'findings' },
  },
});

function deauthOf(body) {
  if (body && typeof body === 'object' && String(body.type).toLowerCase() === 'deauth' && typeof body.bssid === 'string') return body.bssid.toLowerCase();
  if (typeof body === 'string' && /deauth/i.test(body)) return MAC.exec(body)?.[1].toLowerCase();
  return undefined;
}

agent.onTopics((body, topic) => {
  const started = performance.now();
  const bssid = deauthOf(body);
  if (body === null || body === undefined || body === '') {
    agent.recordEvent({ failed: true, ms: performance.now() - started });
    return;
  }
  if (bssid) {
    counts.deauth_frames += 1;
    const threshold = agent.config.deauth_threshold ?? 20;
    const windowMs = (agent.config.window_s ?? 10) * 1000;
    const now = Date.now();
    const entry = perBssid.get(bssid) ?? { times: [] };
    entry.times = entry.times.filter((t) => now - t < windowMs);
    entry.times.push(now);
    perBssid.set(bssid, entry);
    if (entry.times.length >= threshold && (entry.flaggedAt === undefined || now - entry.flaggedAt >= windowMs)) {
      entry.flaggedAt = now;
      counts.floods += 1;
      agent.publish(agent.findingsTopic(), {
        agent_id: agent.agentId,
        type: 'deauth_flood',
        severity: 'high',
        topic,
        bssid,
        count: entry.times.length,
        window_s: windowMs / 1000,
        timestamp: new Date().toISOString(),
      });
    }
  }
  agent.recordEvent({ ms: performance.now() - started });
});

await agent.start();
agent.log('INFO', 'WifiAgent started', { topics: agent.topics(), findings_topic: agent.findingsTopic() });
