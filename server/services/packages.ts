// Agent packages as the control plane keeps them (seed §3): each host's scans arrive as
// observations; this service judges them for that host (register a new agent, update a
// compatible version, report invalid, conflicting, incompatible or removed packages), records
// every package with its status and reasons, and each scan's progress. Applying the same scan
// twice changes nothing. Rescans are asked of the hosts over NATS.
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { packagesRepo, type PackageRow, scansRepo, type ScanRow } from '../db/packages.repo.js';
import { desiredStateRepo } from '../db/desired-state.repo.js';
import { hostsRepo } from '../db/hosts.repo.js';
import type { AgentService } from './agents.js';
import type { ConfigService } from './config.js';
import type { AuditService } from '../security/audit.js';
import type { EventBus } from '../events/bus.js';
import type { BrokerConnection } from '../broker/connection.js';
import { type ObservationBody, RescanReply } from '../broker/host-protocol.js';
import { subjects } from '../broker/subjects.js';
import { type Page, toPage } from '../http/cursor.js';
import { NoResponders, NotFound, ServiceUnavailable } from '../errors.js';
import type { PackageReading } from '../scanner/package-reader.js';
import { type PackageStatus, reconcile } from '../scanner/reconcile.js';

export interface PackageView {
  host_id: string | null;
  path: string;
  agent_name: string | null;
  agent_version: string | null;
  agent_type: string | null;
  fields: Record<string, string>;
  status: PackageStatus;
  reasons: string[];
  agent_id: string | null;
  launch_error: string | null;
  discovered_at: string;
  updated_at: string;
}

export interface ScanView {
  id: string;
  host_id: string;
  status: 'running' | 'completed' | 'failed';
  trigger: 'start' | 'watch' | 'api';
  started_at: string;
  finished_at: string | null;
  total: number | null;
  done: number;
  counts: Record<PackageStatus, number>;
  error: string | null;
}

const present = (r: PackageRow): PackageView => ({
  host_id: r.host_id,
  path: r.path,
  agent_name: r.agent_name,
  agent_version: r.agent_version,
  agent_type: r.agent_type,
  fields: r.fields,
  status: r.status as PackageStatus,
  reasons: r.reasons,
  agent_id: r.agent_id,
  launch_error: r.launch_error ?? null,
  discovered_at: r.discovered_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

const emptyCounts = (): Record<PackageStatus, number> => ({ registered: 0, invalid: 0, conflict: 0, incompatible: 0, removed: 0, ignored: 0 });

const presentScan = (s: ScanRow): ScanView => ({
  id: s.id,
  host_id: s.host_id,
  status: s.status as ScanView['status'],
  trigger: s.trigger as ScanView['trigger'],
  started_at: s.started_at.toISOString(),
  finished_at: s.finished_at ? s.finished_at.toISOString() : null,
  total: s.total,
  done: s.done,
  counts: { ...emptyCounts(), ...s.counts },
  error: s.error,
});

export type PackageService = ReturnType<typeof createPackageService>;

export function createPackageService(deps: {
  db: Database;
  agents: AgentService;
  config: ConfigService;
  audit?: AuditService;
  events: EventBus;
  logger: Logger;
  connection: BrokerConnection;
  /** Hosts whose supervisors run now (a rescan asks each of them). */
  liveHosts(): Promise<string[]>;
  /** Role all: this host and its agents directory. */
  local?: { hostId: string; agentsDir: string };
  /** Where a host's agents directory is when no supervisor has said (the configured default). */
  defaultAgentsDir: string;
}) {
  const { db, logger } = deps;

  async function auditSystem(action: string, target: string, details: Record<string, unknown>): Promise<void> {
    await deps.audit?.record({
      actor_type: 'system', actor_id: null, actor_name: 'scanner', role: null, action, target, source: null,
      result: 'success', status: null, correlation_id: null, details,
    });
  }

  /**
   * Judges one host's scan and records it. Answers the agents whose spec changed (registered,
   * updated, their package removed), for the push to the host.
   */
  async function applyScan(hostId: string, scan: ObservationBody<'packages.scan'>): Promise<string[]> {
    const changed: string[] = [];
    const repo = packagesRepo(db.knex);
    const counts = emptyCounts();
    if (scan.status === 'failed') {
      await scansRepo(db.knex).upsert({ id: scan.scan_id, host_id: hostId, trigger: scan.trigger, status: 'failed', total: null, done: 0, counts, error: scan.error, started_at: new Date(scan.started_at), finished_at: new Date(scan.finished_at) });
      deps.events.publish({ type: 'package.scan.completed', details: { id: scan.scan_id, host_id: hostId, status: 'failed', error: scan.error } });
      return changed;
    }
    const readings: PackageReading[] = scan.readings.map((r) => ({
      path: r.path, fields: r.fields, problems: r.problems, checksum: r.checksum,
      ...(r.agent ? { agent: { ...r.agent, command: r.agent.command ?? '' } } : {}),
      ...(r.ignored ? { ignored: r.ignored } : {}),
    }));
    const candidates = await agentsRepo(db.knex).ofHost(hostId);
    // One agent per name: this host's own, else one registered through the API (which the package then runs).
    const byName = new Map<string, (typeof candidates)[number]>();
    for (const a of candidates) if (!byName.has(a.name)) byName.set(a.name, a);
    const registered = [...byName.values()];
    const decisions = reconcile(readings, registered);
    const previous = new Map((await repo.ofHost(hostId)).map((p) => [p.path, p]));
    for (const [i, d] of decisions.entries()) {
      const reading = scan.readings[i];
      let agentId = d.agentId ?? previous.get(d.path)?.agent_id ?? null;
      try {
        if (d.action === 'register' && d.agent) {
          const autostart = await fleetAutostart();
          const agent = await deps.agents.create(
            {
              agent_name: d.agent.name, agent_version: d.agent.version, agent_type: d.agent.type, description: d.agent.description,
              subscribed_topics: d.agent.subscribed_topics, findings_topic: d.agent.findings_topic,
            },
            { source: 'scanner', package: d.path, hostId, desiredState: autostart ? 'running' : 'stopped' },
          );
          agentId = agent.id;
          changed.push(agent.id);
          await auditSystem('package.register', agent.id, { path: d.path, version: d.agent.version, host_id: hostId });
        } else if (d.status === 'registered' && agentId && byName.get(d.agent?.name ?? '')?.host_id === null) {
          // A package for an agent registered through the API: this host runs it from now on.
          await desiredStateRepo(db.knex).set(agentId, { host_id: hostId });
          changed.push(agentId);
        }
        if (d.action === 'update' && d.agent && agentId) {
          await deps.agents.update(agentId, { agent_version: d.agent.version, description: d.agent.description, subscribed_topics: d.agent.subscribed_topics, findings_topic: d.agent.findings_topic });
          changed.push(agentId);
          await auditSystem('package.update', agentId, { path: d.path, version: d.agent.version, host_id: hostId });
        }
      } catch (err) {
        d.status = 'invalid';
        d.reasons = [...d.reasons, `registration failed: ${(err as Error).message}`];
      }
      const before = previous.get(d.path);
      const row = {
        host_id: hostId,
        path: d.path,
        agent_name: reading.agent?.name ?? reading.fields.AGENT_NAME ?? null,
        agent_version: reading.agent?.version ?? reading.fields.AGENT_VERSION ?? null,
        agent_type: reading.agent?.type ?? reading.fields.AGENT_TYPE ?? null,
        fields: reading.fields,
        status: d.status,
        reasons: d.reasons,
        agent_id: d.status === 'registered' ? agentId : (before?.agent_id ?? null),
        checksum: reading.checksum,
        launch_error: d.status === 'registered' ? reading.launch_error : null,
      };
      await repo.upsert(row);
      counts[d.status] += 1;
      const moved = before && (before.status !== d.status || before.checksum !== reading.checksum || (before.launch_error ?? null) !== row.launch_error);
      if (!before || moved) {
        if (agentId && d.status === 'registered') changed.push(agentId);
        const type = d.status === 'registered' ? (d.action === 'update' ? 'package.updated' : 'package.registered') : (`package.${d.status}` as const);
        deps.events.publish({ type, agent_id: agentId, path: d.path, details: { reasons: d.reasons, host_id: hostId } });
      }
    }
    // Packages that were on disk before and are gone now: their agents should not run any more.
    const present = new Set(scan.readings.map((r) => r.path));
    for (const [p, row] of previous) {
      if (present.has(p)) continue;
      counts.removed += 1;
      if (row.status === 'removed') continue;
      await repo.upsert({ ...row, status: 'removed', reasons: ['the package folder is no longer in the agents directory'] });
      if (row.agent_id) {
        await desiredStateRepo(db.knex).set(row.agent_id, { desired_state: 'stopped' });
        changed.push(row.agent_id);
      }
      deps.events.publish({ type: 'package.removed', agent_id: row.agent_id, path: p, details: { reasons: [], host_id: hostId } });
    }
    // A package that changed lifts a hold (recovery spent on the old one).
    await desiredStateRepo(db.knex).release(changed);
    const scanRow: ScanRow = {
      id: scan.scan_id, host_id: hostId, trigger: scan.trigger, status: 'completed', total: scan.readings.length, done: scan.readings.length, counts,
      error: null, started_at: new Date(scan.started_at), finished_at: new Date(scan.finished_at),
    };
    await scansRepo(db.knex).upsert(scanRow);
    await scansRepo(db.knex).prune(hostId, 50);
    deps.events.publish({ type: 'package.scan.completed', details: { ...presentScan(scanRow) } });
    return [...new Set(changed)];
  }

  async function fleetAutostart(): Promise<boolean> {
    const eff = await deps.config.effectiveMany(['__fleet__']);
    return eff.get('__fleet__')?.config.autostart === true;
  }

  return {
    applyScan,

    async list(f: { status?: string; hostId?: string; limit: number; after?: { h: string; p: string } }): Promise<Page<PackageView>> {
      return toPage(await packagesRepo(db.knex).list(f), f.limit, present, (r) => ({ h: r.host_id ?? '', p: r.path }));
    },

    /** The registered package of an agent (its host and folder). */
    packageOf: (agentId: string) => packagesRepo(db.knex).byAgent(agentId),

    /** Asks every live host to scan now; answers the first host's scan as it starts (202). */
    /**
     * Where packages go: this host's agents directory (role all), else the one the first host
     * reported; with every host's own.
     */
    async directory(): Promise<{ path: string; hosts: Array<{ host_id: string; path: string | null; status: string }> }> {
      const rows = await hostsRepo(db.knex).list();
      const hosts = rows.map((h) => ({ host_id: h.id, path: h.agents_dir, status: h.status }));
      const first = rows.find((h) => h.status === 'up' && h.agents_dir) ?? rows.find((h) => h.agents_dir);
      return { path: deps.local?.agentsDir ?? first?.agents_dir ?? deps.defaultAgentsDir, hosts };
    },
    async rescan(): Promise<ScanView> {
      // Right after a reconnection the host's supervisor may not have subscribed again yet (no
      // responders): asked again for a few seconds (a second scan request changes nothing).
      const askToRescan = async (hostId: string) => {
        const until = Date.now() + 5000;
        for (;;) {
          try {
            return await deps.connection.request(subjects.host(hostId).rescan, { trigger: 'api' }, 5000);
          } catch (err) {
            if (!(err instanceof NoResponders) || Date.now() > until) throw err;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      };
      const hosts = await deps.liveHosts();
      if (hosts.length === 0) throw new ServiceUnavailable('no_host', 'No supervisor is running to scan its agents directory');
      const scans: ScanView[] = [];
      // A broker blip (nats-server reloads when a credential is revoked) is waited out, not answered 503.
      await deps.connection.waitConnected(5000);
      for (const hostId of hosts) {
        try {
          const reply = RescanReply.parse(await askToRescan(hostId));
          const row: ScanRow = { id: reply.scan_id, host_id: hostId, trigger: 'api', status: 'running', total: reply.total, done: 0, counts: emptyCounts(), error: null, started_at: new Date(), finished_at: null };
          // Recorded as running unless the scan's observation was applied already.
          if (!(await scansRepo(db.knex).get(reply.scan_id))) await scansRepo(db.knex).upsert(row);
          scans.push(presentScan((await scansRepo(db.knex).get(reply.scan_id)) ?? row));
        } catch (err) {
          logger.warn({ hostId, err: (err as Error).message }, 'a host did not answer the rescan request');
        }
      }
      if (scans.length === 0) throw new ServiceUnavailable('host_unreachable', 'No supervisor answered the rescan request');
      return scans[0];
    },

    async scanStatus(id: string): Promise<ScanView> {
      const row = id === 'latest' ? await scansRepo(db.knex).latest() : await scansRepo(db.knex).get(id);
      if (!row) throw new NotFound('scan_not_found', `Scan ${JSON.stringify(id)} is not known`);
      return presentScan(row);
    },
  };
}
