// The agents-directory scanner (seed §3): an initial scan at start, then live through
// chokidar; each change triggers a full, serialized rescan that registers new packages
// through the agent service, updates compatible versions and records every package with
// its status and reasons. A broken package never stops a scan.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import chokidar, { type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { type PackageRow, packagesRepo } from '../db/packages.repo.js';
import type { AgentService } from '../services/agents.js';
import type { AuditService } from '../security/audit.js';
import { type Page, toPage } from '../http/cursor.js';
import { NotFound } from '../errors.js';
import { listPackageFolders, type PackageReading, readPackage } from './package-reader.js';
import { type PackageStatus, reconcile } from './reconcile.js';

export interface PackageView {
  path: string;
  agent_name: string | null;
  agent_version: string | null;
  agent_type: string | null;
  fields: Record<string, string>;
  status: PackageStatus;
  reasons: string[];
  agent_id: string | null;
  discovered_at: string;
  updated_at: string;
}

export interface ScanView {
  id: string;
  status: 'running' | 'completed' | 'failed';
  trigger: 'start' | 'watch' | 'api';
  started_at: string;
  finished_at: string | null;
  total: number | null;
  done: number;
  counts: Record<PackageStatus, number>;
  error: string | null;
}

export type ScannerEvent =
  | { type: 'package.registered' | 'package.updated' | 'package.invalid' | 'package.conflict' | 'package.incompatible' | 'package.removed' | 'package.ignored'; path: string; agent_id: string | null; reasons: string[] }
  | { type: 'package.scan.completed'; scan: ScanView };

export interface ScannerDeps {
  db: Database;
  agentsDir: string;
  agents: AgentService;
  audit?: AuditService;
  logger: Logger;
  /** Delay between a filesystem event and the rescan it triggers. */
  debounceMs?: number;
  onEvent?: (event: ScannerEvent) => void;
}

/** Only the package-format fields are kept: anything else in the file (a secret, say) is not stored or shown. */
const KEPT_FIELD = /^(AGENT_|DEFAULT_)[A-Z0-9_]*$/;

const present = (r: PackageRow): PackageView => ({
  path: r.path,
  agent_name: r.agent_name,
  agent_version: r.agent_version,
  agent_type: r.agent_type,
  fields: r.fields,
  status: r.status as PackageStatus,
  reasons: r.reasons,
  agent_id: r.agent_id,
  discovered_at: r.discovered_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export type Scanner = ReturnType<typeof createScanner>;

export function createScanner(deps: ScannerDeps) {
  const { db, agentsDir, logger } = deps;
  const repo = packagesRepo(db.knex);
  const scans = new Map<string, ScanView>();
  let current: Promise<ScanView> | undefined;
  let queued: 'watch' | undefined;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let latestId: string | undefined;

  const emptyCounts = (): Record<PackageStatus, number> => ({ registered: 0, invalid: 0, conflict: 0, incompatible: 0, removed: 0, ignored: 0 });

  async function runScan(scan: ScanView): Promise<ScanView> {
    try {
      const folders = listPackageFolders(agentsDir);
      scan.total = folders.length;
      const readings: PackageReading[] = [];
      for (const folder of folders) {
        try {
          readings.push(readPackage(agentsDir, folder));
        } catch (err) {
          readings.push({ path: folder, fields: {}, problems: [`could not be read: ${(err as Error).message}`], checksum: null });
        }
        scan.done += 1;
      }
      const registered = await db.knex('agents').select('id', 'name', 'type', 'version');
      const decisions = reconcile(readings, registered);
      const previous = new Map((await repo.all()).map((p) => [p.path, p]));

      for (const [i, d] of decisions.entries()) {
        const reading = readings[i];
        let agentId = d.agentId ?? previous.get(d.path)?.agent_id ?? null;
        try {
          if (d.action === 'register' && d.agent) {
            const agent = await deps.agents.create(
              {
                agent_name: d.agent.name,
                agent_version: d.agent.version,
                agent_type: d.agent.type,
                description: d.agent.description,
                subscribed_topics: d.agent.subscribed_topics,
                findings_topic: d.agent.findings_topic,
              },
              { source: 'scanner', package: d.path },
            );
            agentId = agent.id;
            await auditSystem('package.register', agent.id, { path: d.path, version: d.agent.version });
          } else if (d.action === 'update' && d.agent && agentId) {
            await deps.agents.update(agentId, {
              agent_version: d.agent.version,
              description: d.agent.description,
              subscribed_topics: d.agent.subscribed_topics,
              findings_topic: d.agent.findings_topic,
            });
            await auditSystem('package.update', agentId, { path: d.path, version: d.agent.version });
          }
        } catch (err) {
          d.status = 'invalid';
          d.reasons = [...d.reasons, `registration failed: ${(err as Error).message}`];
        }
        const fields = Object.fromEntries(Object.entries(reading.fields).filter(([k]) => KEPT_FIELD.test(k)));
        const before = previous.get(d.path);
        await repo.upsert({
          path: d.path,
          agent_name: reading.agent?.name ?? fields.AGENT_NAME ?? null,
          agent_version: reading.agent?.version ?? fields.AGENT_VERSION ?? null,
          agent_type: reading.agent?.type ?? fields.AGENT_TYPE ?? null,
          fields,
          status: d.status,
          reasons: d.reasons,
          agent_id: d.status === 'registered' ? agentId : (before?.agent_id ?? null),
          checksum: reading.checksum,
        });
        scan.counts[d.status] += 1;
        if (!before || before.status !== d.status || before.checksum !== reading.checksum) {
          const type = d.status === 'registered' ? (d.action === 'update' ? 'package.updated' : 'package.registered') : (`package.${d.status}` as const);
          deps.onEvent?.({ type, path: d.path, agent_id: agentId, reasons: d.reasons });
        }
      }
      // Packages that were on disk before and are gone now.
      const present = new Set(readings.map((r) => r.path));
      for (const [p, row] of previous) {
        if (present.has(p) || row.status === 'removed') {
          if (!present.has(p)) scan.counts.removed += 1;
          continue;
        }
        await repo.upsert({ ...row, status: 'removed', reasons: ['the package folder is no longer in the agents directory'] });
        scan.counts.removed += 1;
        deps.onEvent?.({ type: 'package.removed', path: p, agent_id: row.agent_id, reasons: [] });
      }
      scan.status = 'completed';
    } catch (err) {
      scan.status = 'failed';
      scan.error = (err as Error).message;
      logger.error({ err: (err as Error).message }, 'package scan failed');
    }
    scan.finished_at = new Date().toISOString();
    deps.onEvent?.({ type: 'package.scan.completed', scan: { ...scan } });
    return scan;
  }

  async function auditSystem(action: string, target: string, details: Record<string, unknown>): Promise<void> {
    await deps.audit?.record({
      actor_type: 'system', actor_id: null, actor_name: 'scanner', role: null, action, target, source: null,
      result: 'success', status: null, correlation_id: null, details,
    });
  }

  /** Starts a scan, or answers the one running; scans never overlap. */
  function startScan(trigger: ScanView['trigger']): { scan: ScanView; done: Promise<ScanView> } {
    if (current) {
      const running = scans.get(latestId!)!;
      if (trigger === 'watch') queued = 'watch';
      return { scan: running, done: current };
    }
    const scan: ScanView = {
      id: randomUUID(), status: 'running', trigger, started_at: new Date().toISOString(), finished_at: null,
      total: null, done: 0, counts: emptyCounts(), error: null,
    };
    scans.set(scan.id, scan);
    latestId = scan.id;
    if (scans.size > 50) scans.delete(scans.keys().next().value!);
    current = runScan(scan).finally(() => {
      current = undefined;
      if (queued) {
        queued = undefined;
        startScan('watch');
      }
    });
    return { scan, done: current };
  }

  return {
    agentsDir,
    /** Full scan now; resolves when it (or the one already running) completes. */
    scan: (trigger: ScanView['trigger'] = 'api') => startScan(trigger).done,
    /** For POST /packages/rescan: starts a scan and answers it at once, with its progress. */
    rescan: () => ({ ...startScan('api').scan }),
    scanStatus(id: string): ScanView {
      const scan = scans.get(id === 'latest' ? (latestId ?? '') : id);
      if (!scan) throw new NotFound('scan_not_found', `Scan ${JSON.stringify(id)} is not known`);
      return { ...scan };
    },
    async list(f: { status?: string; limit: number; after?: string }): Promise<Page<PackageView>> {
      return toPage(await repo.list(f), f.limit, present, (r) => ({ p: r.path }));
    },
    /** The registered package of an agent (for the supervisor). */
    packageOf: (agentId: string) => repo.byAgent(agentId),

    async start(): Promise<void> {
      fs.mkdirSync(agentsDir, { recursive: true });
      await startScan('start').done;
      watcher = chokidar.watch(agentsDir, { ignoreInitial: true, depth: 1, followSymlinks: false, persistent: true });
      const changed = () => {
        clearTimeout(timer);
        timer = setTimeout(() => startScan('watch'), deps.debounceMs ?? 250);
      };
      watcher.on('all', changed).on('error', (err) => logger.warn({ err: (err as Error).message }, 'agents directory watcher error'));
      await new Promise<void>((resolve) => watcher!.once('ready', () => resolve()));
    },

    async stop(): Promise<void> {
      clearTimeout(timer);
      await watcher?.close();
      queued = undefined;
      await current?.catch(() => undefined);
    },

  };
}
