// `--role supervisor`: this host's supervisor alone, with no HTTP server and no database
// credentials. It reaches the cluster's NATS with its own user (OPMAS_NATS_URL, OPMAS_NATS_CREDS,
// optional OPMAS_NATS_TLS_*), holds the host's lease, and runs the host's agents.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { acquireDataDirLock } from '../lockfile.js';
import { createBrokerConnection } from '../broker/connection.js';
import { readSupervisorNatsSettings } from '../broker/external.js';
import { subjects } from '../broker/subjects.js';
import { resolveHostId } from '../host-id.js';
import type { AmsSettings } from '../settings.js';
import { AMS_VERSION } from '../version.js';
import { createHostSupervisor } from './host-supervisor.js';

/** Environment variables of the supervisor role that hold or point to secrets: never passed to agents. */
export const SUPERVISOR_SECRET_ENV = ['OPMAS_NATS_CREDS', 'OPMAS_NATS_TLS_KEY'] as const;

export interface RunningSupervisor {
  hostId: string;
  epoch: number;
  close(): Promise<void>;
}

export async function startSupervisorRole(settings: AmsSettings, opts: { logger: Logger; env?: NodeJS.ProcessEnv; onFenced?: () => void }): Promise<RunningSupervisor> {
  const { logger } = opts;
  const env = opts.env ?? process.env;
  const nats = readSupervisorNatsSettings(env);
  fs.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(settings.dataDir);
  const hostId = resolveHostId(settings.dataDir, settings.hostId);
  const agentEnv = { ...env };
  for (const name of SUPERVISOR_SECRET_ENV) delete agentEnv[name];
  const connection = createBrokerConnection({
    servers: () => nats.servers,
    creds: () => nats.creds,
    tls: nats.tls,
    logger,
    name: `opmas-supervisor-${hostId}`,
    inboxPrefix: subjects.host(hostId).inboxPrefix,
  });
  connection.start();
  const leaseTtlMs = settings.leaseTtlS * 1000;
  const supervisor = createHostSupervisor({
    hostId,
    dataDir: settings.dataDir,
    agentsDir: settings.agentsDir,
    env: agentEnv,
    logger,
    version: AMS_VERSION,
    connection,
    natsUrl: () => nats.servers.join(','),
    leaseTtlMs,
    leaseRenewMs: Math.max(100, leaseTtlMs / 3),
    reconcileIntervalMs: settings.reconcileIntervalS * 1000,
    onFenced: () => {
      logger.error({ hostId }, 'another supervisor took this host over; exiting without touching its agents');
      opts.onFenced?.();
    },
  });
  try {
    const { epoch } = await supervisor.start();
    return {
      hostId,
      epoch,
      async close() {
        await supervisor.stop();
        await connection.close();
        lock.release();
      },
    };
  } catch (err) {
    supervisor.abandon();
    await connection.close();
    lock.release();
    throw err;
  }
}
