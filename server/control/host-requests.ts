// What a supervisor asks of the control plane besides its specs: fresh NATS credentials for an
// agent it starts (minted here: only the control plane holds the account signing key; only for
// an agent of that host, and only under the host's current epoch, so a fenced supervisor gets
// none), and a configuration rollback its crash-loop guard decided (stored as a new version).
import type { Msg } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { asDatabaseUnavailable } from '../db/database.js';
import { desiredStateRepo } from '../db/desired-state.repo.js';
import { configRepo } from '../db/config.repo.js';
import { CONTROL_QUEUE, CredsRequest, RollbackRequest } from '../broker/host-protocol.js';
import { hostIdFromControlSubject, subjects } from '../broker/subjects.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { CredentialsService } from '../services/credentials.js';
import type { ConfigService } from '../services/config.js';
import type { StatusService } from '../services/status.js';
import { configDiff, sameConfig } from '../supervisor/config-guard.js';
import type { ConfigMap } from '../domain/agent-config.js';

class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createHostRequests(deps: {
  db: Database;
  connection: BrokerConnection;
  logger: Logger;
  credentials: CredentialsService;
  config: ConfigService;
  status: StatusService;
  /** The lease epochs bucket: the current epoch of each host. */
  epochs: () => Promise<KV>;
  onConfigWritten(agentId: string): void;
}) {
  const unsubscribers: Array<() => void> = [];

  /** The agent must be this host's, and the caller the host's current epoch. */
  async function checkCaller(hostId: string, agentId: string, epoch: number): Promise<void> {
    const owner = await desiredStateRepo(deps.db.knex).hostOf(agentId);
    if (owner === undefined) throw new Refused('agent_not_found', `agent ${agentId} does not exist`);
    if (owner !== hostId) throw new Refused('not_this_host', `agent ${agentId} is not an agent of host ${hostId}`);
    const e = await (await deps.epochs()).get(hostId);
    const current = e && e.operation === 'PUT' ? Number(e.string()) : 0;
    if (current !== epoch) throw new Refused('stale_epoch', `epoch ${epoch} is not host ${hostId}'s current epoch ${current}`);
  }

  function answer(msg: Msg, work: (hostId: string, body: unknown) => Promise<unknown>): void {
    const hostId = hostIdFromControlSubject(msg.subject);
    if (!hostId) return;
    void (async () => {
      try {
        const body = JSON.parse(new TextDecoder().decode(msg.data)) as unknown;
        deps.connection.reply(msg, await work(hostId, body));
      } catch (err) {
        const unavailable = asDatabaseUnavailable(err);
        const code = err instanceof Refused ? err.code : unavailable ? 'database_unavailable' : (err as { code?: string }).code ?? 'bad_request';
        if (!(err instanceof Refused) && !unavailable) deps.logger.warn({ hostId, err: (err as Error).message }, 'a supervisor request failed');
        deps.connection.reply(msg, { error: { code, message: (unavailable ?? (err as Error)).message } });
      }
    })();
  }

  async function creds(hostId: string, raw: unknown) {
    const req = CredsRequest.parse(raw);
    await checkCaller(hostId, req.agent_id, req.epoch);
    const issued = await deps.credentials.issueFor(req.agent_id, { host_id: hostId, epoch: req.epoch, start_id: req.start_id });
    return { creds: issued.creds, public_key: issued.publicKey, url: issued.url || null };
  }

  async function rollback(hostId: string, raw: unknown) {
    const req = RollbackRequest.parse(raw);
    await checkCaller(hostId, req.agent_id, req.epoch);
    const repo = configRepo(deps.db.knex);
    const load = async (v: number): Promise<ConfigMap> => (v === 0 ? {} : ((await repo.version({ agentId: req.agent_id }, v))?.config ?? {}));
    const [bad, good] = [await load(req.from_version), await load(req.to_version)];
    if (sameConfig(bad, good)) throw new Refused('same_settings', `version ${req.from_version} has the same settings as version ${req.to_version}`);
    const written = await deps.config.putAgent(req.agent_id, good, 'supervisor', `automatic rollback to version ${req.to_version}: ${req.reason}`);
    deps.onConfigWritten(req.agent_id);
    return { version: written.version, config: written.effective.config, diff: configDiff(bad, good) };
  }

  return {
    creds,
    rollback,
    listen(): void {
      if (unsubscribers.length > 0) return;
      unsubscribers.push(
        deps.connection.subscribe(subjects.everyHost.creds, (msg) => answer(msg, creds), { queue: CONTROL_QUEUE }),
        deps.connection.subscribe(subjects.everyHost.rollback, (msg) => answer(msg, rollback), { queue: CONTROL_QUEUE }),
      );
    },
    stop(): void {
      for (const u of unsubscribers.splice(0)) u();
    },
  };
}
