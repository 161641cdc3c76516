// Resource sampler (on each host, part of the supervisor): every `metrics_interval` seconds it
// samples each supervised agent process (CPU %, RSS, disk I/O) and sends the round as one
// `metrics.samples` observation (the control plane stores the rows in agent_resource_metrics and
// publishes one `metrics.sample` event per agent); the health monitor gets each sample at once.
//
// Where the numbers come from:
// - cpu_percent and memory_mb: pidusage (/proc/<pid>/stat on Linux, ps on macOS, wmic on
//   Windows). pidusage measures CPU between two of its calls, so a process's first sample has
//   no CPU figure: it is left out (never stored as a false 0%).
// - disk_read_bytes / disk_write_bytes: Linux /proc/<pid>/io (read_bytes, write_bytes: what
//   reached the block layer), cumulative since the process started; absent elsewhere.
// - net_rx_bytes / net_tx_bytes: Linux keeps network counters per interface and namespace, not
//   per process, so the sampler cannot measure them. An agent may report them (cumulative) in
//   its heartbeat or metrics message; ingest stores those in agent_metrics, and the sampler
//   adds the latest reported values to its sample (marked so they are not stored twice).
// - response_ms: the round trip of the supervisor's latest `ping` (health monitor), stored with
//   the first sample taken after it answered, so each ping is one row.
import fs from 'node:fs/promises';
import pidusage from 'pidusage';
import type { Logger } from 'pino';
import type { SampleWire } from '../broker/host-protocol.js';
import { DEFAULT_THRESHOLDS } from './health-rules.js';

export const DEFAULT_METRICS_INTERVAL_S = 10;
const MIN_INTERVAL_S = 0.05;
const THRESHOLD_REFRESH_MS = 60_000;
/** Reported by the agent itself (ingest stores them in agent_metrics): carried in samples, not stored again. */
export const REPORTED = ['net_rx_bytes', 'net_tx_bytes'] as const;

export interface SupervisedProcess {
  agentId: string;
  pid: number;
}

export interface ResourceSample {
  agent_id: string;
  /** Epoch ms. */
  t: number;
  values: Record<string, number>;
}

export interface SamplerDeps {
  logger: Logger;
  /** Sends one round's samples (the supervisor journals them as an observation). */
  emit(samples: SampleWire[]): void;
  /** Each sample as it is taken (the health monitor's thresholds). */
  onSample?(sample: ResourceSample): void;
  /** The supervisor's live agent processes. */
  listProcesses: () => SupervisedProcess[];
  /** Seconds between samples (config key `metrics_interval`); read before every tick. */
  intervalS?: () => number | Promise<number>;
  /** Warning threshold per metric and agent, stored beside each sample (threshold_value). */
  thresholds?: (agentIds: string[]) => Map<string, Partial<Record<string, number>>>;
  /** The latest ping round trip of an agent's process and when it answered (epoch ms). */
  latestPing?: (agentId: string) => { ms: number; at: number } | undefined;
}

export interface SamplerStats {
  ticks: number;
  samples: number;
  rows_written: number;
  write_failures: number;
  last_tick_ms: number;
}

interface Tracked {
  pid: number;
  samples: number;
  /** When the ping stored last answered. */
  pingAt?: number;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** read_bytes and write_bytes of /proc/<pid>/io; undefined where the OS has no such file or denies it. */
export async function readProcIo(pid: number): Promise<{ read: number; write: number } | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const text = await fs.readFile(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text)?.[1]);
    const read = field('read_bytes');
    const write = field('write_bytes');
    return Number.isFinite(read) && Number.isFinite(write) ? { read, write } : undefined;
  } catch {
    return undefined;
  }
}

export type Sampler = ReturnType<typeof createSampler>;

export function createSampler(deps: SamplerDeps) {
  const { logger } = deps;
  const tracked = new Map<string, Tracked>();
  const latest = new Map<string, ResourceSample>();
  const reported = new Map<string, Partial<Record<(typeof REPORTED)[number], number>>>();
  let thresholds = new Map<string, Partial<Record<string, number>>>();
  let thresholdsAt = 0;
  let intervalS = DEFAULT_METRICS_INTERVAL_S;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = true;
  const stats: SamplerStats = { ticks: 0, samples: 0, rows_written: 0, write_failures: 0, last_tick_ms: 0 };

  async function currentInterval(): Promise<number> {
    try {
      const v = Number(await (deps.intervalS?.() ?? DEFAULT_METRICS_INTERVAL_S));
      if (Number.isFinite(v) && v >= MIN_INTERVAL_S) intervalS = v;
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'metrics_interval unavailable; keeping the last one');
    }
    return intervalS;
  }

  async function refreshThresholds(agentIds: string[]): Promise<void> {
    if (!deps.thresholds || Date.now() - thresholdsAt < THRESHOLD_REFRESH_MS) return;
    try {
      thresholds = deps.thresholds(agentIds);
      thresholdsAt = Date.now();
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'thresholds unavailable for the resource samples');
    }
  }

  async function sampleProcess(p: SupervisedProcess, maxage: number): Promise<ResourceSample | undefined> {
    let usage: pidusage.Status;
    try {
      usage = await pidusage(p.pid, { maxage });
    } catch {
      return undefined; // the process is gone (or not ours to read): nothing to sample
    }
    const seen = tracked.get(p.agentId);
    const first = !seen || seen.pid !== p.pid;
    const entry: Tracked = { pid: p.pid, samples: first ? 1 : seen.samples + 1, pingAt: first ? undefined : seen.pingAt };
    tracked.set(p.agentId, entry);
    const values: Record<string, number> = {};
    if (!first) values.cpu_percent = round(usage.cpu);
    values.memory_mb = round(usage.memory / 1_048_576);
    const io = await readProcIo(p.pid);
    if (io) {
      values.disk_read_bytes = io.read;
      values.disk_write_bytes = io.write;
    }
    for (const [k, v] of Object.entries(reported.get(p.agentId) ?? {})) values[k] = v;
    const ping = deps.latestPing?.(p.agentId);
    if (ping && ping.at !== entry.pingAt) {
      values.response_ms = ping.ms;
      entry.pingAt = ping.at;
    }
    return { agent_id: p.agentId, t: usage.timestamp || Date.now(), values };
  }

  /** Samples every listed process once, stores and publishes the samples; answers them. */
  async function sampleOnce(): Promise<ResourceSample[]> {
    const started = performance.now();
    const processes = deps.listProcesses();
    const live = new Set(processes.map((p) => p.agentId));
    for (const id of [...tracked.keys()]) {
      if (!live.has(id)) {
        tracked.delete(id);
        latest.delete(id);
      }
    }
    await refreshThresholds([...live]);
    // pidusage forgets a pid after `maxage` ms without a call; keep it across a few intervals.
    const maxage = Math.max(60_000, intervalS * 3000);
    const samples = (await Promise.all(processes.map((p) => sampleProcess(p, maxage)))).filter((s): s is ResourceSample => s !== undefined);
    for (const s of samples) {
      latest.set(s.agent_id, s);
      deps.onSample?.(s);
    }
    const wire: SampleWire[] = samples.map((s) => ({ agent_id: s.agent_id, t: s.t, values: s.values, thresholds: Object.fromEntries(Object.entries(thresholds.get(s.agent_id) ?? {}).filter(([, v]) => typeof v === 'number')) as Record<string, number> }));
    try {
      for (let i = 0; i < wire.length; i += 1000) deps.emit(wire.slice(i, i + 1000));
      stats.rows_written += samples.reduce((n, s) => n + Object.keys(s.values).length, 0);
    } catch (err) {
      stats.write_failures += 1;
      logger.warn({ err: (err as Error).message, samples: samples.length }, 'resource samples not journaled');
    }
    stats.ticks += 1;
    stats.samples += samples.length;
    stats.last_tick_ms = performance.now() - started;
    return samples;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      const began = Date.now();
      running = (async () => {
        try {
          await sampleOnce();
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'resource sampling failed');
        }
        const every = await currentInterval();
        schedule(Math.max(0, every * 1000 - (Date.now() - began)));
      })();
    }, delayMs);
    timer.unref();
  }

  return {
    async start(): Promise<void> {
      if (!stopped) return;
      stopped = false;
      schedule((await currentInterval()) * 1000);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    sampleOnce,
    /** Network counters an agent reported (heartbeat metrics or metrics message), for the next sample. */
    noteReported(agentId: string, body: Record<string, unknown>): void {
      const picked: Partial<Record<(typeof REPORTED)[number], number>> = {};
      for (const k of REPORTED) if (typeof body[k] === 'number' && Number.isFinite(body[k])) picked[k] = body[k];
      if (Object.keys(picked).length > 0) reported.set(agentId, { ...reported.get(agentId), ...picked });
    },
    /** The latest sample of an agent's live process (for GET .../status and health thresholds). */
    latest: (agentId: string): ResourceSample | undefined => latest.get(agentId),
    latestAll: (): ResourceSample[] => [...latest.values()],
    forget(agentId: string): void {
      reported.delete(agentId);
      tracked.delete(agentId);
      latest.delete(agentId);
    },
    stats: (): SamplerStats => ({ ...stats }),
    interval: () => intervalS,
  };
}

/**
 * Warning levels stored beside samples (threshold_value), from an agent's `thresholds` config
 * ({cpu_percent: {warning, critical}, memory_mb: {...}}) over the defaults.
 */
export function warningThresholds(configured: unknown): Partial<Record<string, number>> {
  const out: Partial<Record<string, number>> = {};
  const given = configured && typeof configured === 'object' ? (configured as Record<string, unknown>) : {};
  for (const metric of ['cpu_percent', 'memory_mb'] as const) {
    const level = given[metric] as { warning?: unknown } | undefined;
    const warning = typeof level?.warning === 'number' ? level.warning : DEFAULT_THRESHOLDS[metric]?.warning;
    if (typeof warning === 'number') out[metric] = warning;
  }
  return out;
}
