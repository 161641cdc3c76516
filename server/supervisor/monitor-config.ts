// The health monitor's settings from an agent's effective configuration: its heartbeat interval
// and thresholds (defaults where unset or invalid).
import type { ConfigMap } from '../domain/agent-config.js';
import { DEFAULT_INTERVAL_S, type MonitorConfig } from './health-monitor.js';
import { effectiveThresholds } from './health-rules.js';

export function monitorConfigOf(config: ConfigMap | Record<string, unknown>): MonitorConfig {
  const interval = config.heartbeat_interval;
  return {
    intervalS: typeof interval === 'number' && Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_INTERVAL_S,
    thresholds: effectiveThresholds(config.thresholds),
  };
}
