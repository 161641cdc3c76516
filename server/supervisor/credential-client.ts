// Agent credentials on a host: the control plane mints them (it alone holds the account signing
// key), on this supervisor's request over NATS, for agents of this host and epoch only. A spare
// set per agent is asked for after each start, so that a crash is restarted without waiting for
// the control plane; when neither a spare nor an answer is to be had (the control plane or its
// database away), the agent's current credentials are used again: they are its own and valid.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from 'pino';
import { CredsReply, ErrorReply } from '../broker/host-protocol.js';
import { subjects } from '../broker/subjects.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { RunRecords } from './run-records.js';

export interface AgentCredentials {
  creds: string;
  publicKey: string;
  startId: string;
  /** Reused from the previous start (no fresh set could be had). */
  reused: boolean;
}

export class CredentialsUnavailable extends Error {
  readonly code = 'credentials_unavailable';
}

export type CredentialClient = ReturnType<typeof createCredentialClient>;

export function createCredentialClient(deps: { hostId: string; epoch: () => number; connection: BrokerConnection; records: RunRecords; logger: Logger; timeoutMs?: number }) {
  const host = subjects.host(deps.hostId);
  const spares = new Map<string, { grant: string; pending: Promise<AgentCredentials | undefined> }>();
  /** The credentials each agent last started with (its run dir's copy goes when the process ends). */
  const last = new Map<string, AgentCredentials>();

  /** Asks up to three times: a request can be lost in a broker blip (each revocation reloads nats-server in host mode). */
  async function request(agentId: string): Promise<AgentCredentials> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await requestOnce(agentId);
      } catch (err) {
        if (err instanceof CredentialsUnavailable || attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  async function requestOnce(agentId: string): Promise<AgentCredentials> {
    const startId = randomUUID();
    const raw = await deps.connection.request(host.creds, { agent_id: agentId, epoch: deps.epoch(), start_id: startId }, deps.timeoutMs ?? 2000);
    const refused = ErrorReply.safeParse(raw);
    if (refused.success) throw new CredentialsUnavailable(`the control plane refused credentials for ${agentId}: ${refused.data.error.message}`);
    const reply = CredsReply.safeParse(raw);
    if (!reply.success) throw new CredentialsUnavailable('malformed credentials reply');
    return { creds: reply.data.creds, publicKey: reply.data.public_key, startId, reused: false };
  }

  /** The key of a `.creds` body (its user JWT's subject). */
  function publicKeyOf(creds: string): string | undefined {
    const jwt = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_.-]+)\s*------END/.exec(creds)?.[1];
    if (!jwt) return undefined;
    try {
      return (JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as { sub?: string }).sub;
    } catch {
      return undefined;
    }
  }

  return {
    /** Credentials for a start: the spare (if issued for the same grant), a fresh set, else the current one. */
    async take(agentId: string, grant: string): Promise<AgentCredentials> {
      const spare = spares.get(agentId);
      spares.delete(agentId);
      const s = spare && spare.grant === grant ? await spare.pending : undefined;
      if (s) return s;
      try {
        return await request(agentId);
      } catch (err) {
        let creds = last.get(agentId)?.creds;
        if (!creds) {
          try {
            creds = fs.readFileSync(deps.records.paths(agentId).creds, 'utf8');
          } catch {
            creds = undefined;
          }
        }
        const publicKey = creds ? publicKeyOf(creds) : undefined;
        if (!creds || !publicKey || err instanceof CredentialsUnavailable) throw err;
        deps.logger.warn({ agentId, reason: (err as Error).message }, 'no fresh credentials to be had; the agent starts again with its current ones');
        return { creds, publicKey, startId: randomUUID(), reused: true };
      }
    },

    /** After a start: remember what it runs with, and ask for the next start's set in the background. */
    started(agentId: string, grant: string, used: AgentCredentials): void {
      last.set(agentId, used);
      if (used.reused) return;
      const pending = request(agentId).catch(() => undefined);
      spares.set(agentId, { grant, pending });
    },

    forget(agentId: string): void {
      spares.delete(agentId);
      last.delete(agentId);
    },
  };
}
