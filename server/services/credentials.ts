// Agents' NATS credentials: issue (recording the public key), rotate, and revoke every key of
// an agent when it is deleted or disabled. The seed goes to the agent and is never stored.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { credentialsRepo } from '../db/credentials.repo.js';
import { agentsRepo } from '../db/agents.repo.js';
import { AgentNotFound, BrokerUnavailable } from '../errors.js';
import type { CredentialIssuer as BrokerIssuer } from '../broker/index.js';
import type { CredentialIssuer, IssuedCredentials } from './registration.js';

export interface CredentialsDeps {
  db: Database;
  logger: Logger;
  /** The broker's issuer and the URL agents connect to; undefined when no broker is configured. */
  broker: () => { issuer: BrokerIssuer; url: string | undefined } | undefined;
}

export type CredentialsService = ReturnType<typeof createCredentialsService>;

/** How long after a start its older keys are revoked (the new process connects first). */
const REVOKE_DELAY_MS = 3000;

export function createCredentialsService({ db, logger, broker }: CredentialsDeps) {
  const pendingOlder = new Map<string, string>();
  let olderTimer: NodeJS.Timeout | undefined;
  async function issue(agent: { id: string; subscribed_topics: string[]; findings_topic: string | null }): Promise<IssuedCredentials> {
    const b = broker();
    if (!b) throw new BrokerUnavailable('no broker is configured to issue NATS credentials');
    const issued = await b.issuer.issueAgent({ agentId: agent.id, subscribedTopics: agent.subscribed_topics, findingsTopic: agent.findings_topic ?? undefined });
    return { url: b.url ?? '', creds: issued.creds, publicKey: issued.publicKey };
  }

  async function revokeKeys(keys: string[], agentId: string): Promise<void> {
    if (keys.length === 0) return;
    // One application for all of them: in host mode each is a nats-server reload.
    const outcome = await broker()?.issuer.revokeMany(keys);
    if (outcome && !outcome.applied) logger.warn({ agentId, detail: outcome.detail }, 'revocation recorded but not yet applied');
  }

  return {
    /** For registration: issues inside the agent's transaction and records the key there. */
    issuer: (): CredentialIssuer | undefined =>
      broker()
        ? {
            async issue(agent) {
              return issue(agent);
            },
          }
        : undefined,

    async record(trx: Knex.Transaction, agentId: string, publicKey: string): Promise<void> {
      await credentialsRepo(trx).add(agentId, publicKey);
    },

    /** Fresh credentials for a start of the agent (a supervisor asks); older keys stay valid until revoked. */
    async issueFor(agentId: string, issuedFor?: { host_id: string; epoch: number; start_id: string }): Promise<IssuedCredentials> {
      const agent = await agentsRepo(db.knex).findById(agentId);
      if (!agent) throw new AgentNotFound(agentId);
      const issued = await issue(agent);
      await credentialsRepo(db.knex).add(agentId, issued.publicKey, issuedFor);
      return issued;
    },

    /**
     * A process of the agent runs with `key`: the agent's keys issued before it (older starts,
     * older epochs of its host) are revoked, in a batch with others (in host mode each
     * application is a nats-server reload that briefly drops every connection), a moment later so
     * the new process has connected first. The live process's key and any newer spare are kept.
     */
    revokeOlderThan(agentId: string, key: string): void {
      pendingOlder.set(agentId, key);
      if (olderTimer) return;
      olderTimer = setTimeout(() => {
        olderTimer = undefined;
        const batch = [...pendingOlder];
        pendingOlder.clear();
        void (async () => {
          const entries: Array<{ agentId: string; keys: string[] }> = [];
          for (const [id, k] of batch) entries.push({ agentId: id, keys: await credentialsRepo(db.knex).olderThan(id, k) });
          const keys: string[] = [];
          for (const e of entries) keys.push(...(await credentialsRepo(db.knex).revokeKeys(e.agentId, e.keys, 'superseded by a new start')));
          await revokeKeys(keys, entries.map((e) => e.agentId).join(','));
        })().catch((err) => logger.warn({ err: (err as Error).message }, 'revoking older credentials failed'));
      }, REVOKE_DELAY_MS);
      olderTimer.unref();
    },

    /** New credentials, and every older key of the agent revoked (its connections drop). */
    async rotate(agentId: string): Promise<{ issued: IssuedCredentials; revoked: number }> {
      const agent = await agentsRepo(db.knex).findById(agentId);
      if (!agent) throw new AgentNotFound(agentId);
      const issued = await issue(agent);
      await credentialsRepo(db.knex).add(agentId, issued.publicKey);
      const old = await credentialsRepo(db.knex).revokeAgent(agentId, 'rotated', issued.publicKey);
      await revokeKeys(old, agentId);
      return { issued, revoked: old.length };
    },

    /**
     * Revokes the given keys of several agents at once: one broker update for all (the
     * supervisor batches the keys its restarts made stale).
     */
    async revokeStale(entries: Array<{ agentId: string; keys: string[] }>, reason: string): Promise<number> {
      const keys: string[] = [];
      for (const e of entries) keys.push(...(await credentialsRepo(db.knex).revokeKeys(e.agentId, e.keys, reason)));
      await revokeKeys(keys, entries.map((e) => e.agentId).join(','));
      return keys.length;
    },

    /** The agent's keys that are not revoked. */
    liveKeys: (agentId: string): Promise<string[]> => credentialsRepo(db.knex).live(agentId),

    /** Revokes every live key of the agent, except `keep`. */
    async revokeAll(agentId: string, reason: string, keep?: string): Promise<number> {
      const keys = await credentialsRepo(db.knex).revokeAgent(agentId, reason, keep);
      await revokeKeys(keys, agentId);
      return keys.length;
    },
  };
}
