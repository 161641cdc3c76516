// Health of the AMS and its dependencies. Each dependency registers a check; the AMS is
// down when the database is, degraded when any other dependency is not ok.
import { AmsError } from '../errors.js';

export type ComponentStatus = 'ok' | 'degraded' | 'down';

export interface ComponentHealth {
  status: ComponentStatus;
  latency_ms: number | null;
  error?: string;
  [detail: string]: unknown;
}

export type HealthCheck = () => Promise<{ status: ComponentStatus; latency_ms?: number | null; error?: string; [detail: string]: unknown }>;

export interface HealthReport {
  status: ComponentStatus;
  version: string;
  api_version: string;
  uptime_s: number;
  components: Record<string, ComponentHealth>;
}

/** A latency above this marks a reachable dependency as degraded. */
const SLOW_MS = 1000;
const CHECK_TIMEOUT_MS = 3000;

export interface HealthServiceDeps {
  version: string;
  apiVersion: string;
  startedAt: number;
  /** Components whose `down` makes the whole AMS down (the database). */
  critical: string[];
  checks: Record<string, HealthCheck>;
}

export type HealthService = ReturnType<typeof createHealthService>;

export function createHealthService(deps: HealthServiceDeps) {
  async function run(check: HealthCheck): Promise<ComponentHealth> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      });
      const result = await Promise.race([check(), timeout]);
      const latency = result.latency_ms ?? performance.now() - started;
      const status: ComponentStatus = result.status === 'ok' && latency > SLOW_MS ? 'degraded' : result.status;
      return { ...result, status, latency_ms: round(latency) };
    } catch (err) {
      const message = err instanceof AmsError || err instanceof Error ? err.message : String(err);
      return { status: 'down', latency_ms: null, error: message };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async report(): Promise<HealthReport> {
      const names = Object.keys(deps.checks);
      const results = await Promise.all(names.map((n) => run(deps.checks[n])));
      const components = Object.fromEntries(names.map((n, i) => [n, results[i]]));
      const down = names.some((n, i) => deps.critical.includes(n) && results[i].status === 'down');
      const degraded = results.some((r) => r.status !== 'ok');
      return {
        status: down ? 'down' : degraded ? 'degraded' : 'ok',
        version: deps.version,
        api_version: deps.apiVersion,
        uptime_s: round((Date.now() - deps.startedAt) / 1000),
        components,
      };
    },
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
