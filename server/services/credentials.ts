// Agents' NATS credentials: issue (recording the public key), rotate, and revoke every key of
// an agent when it is deleted or disabled. The seed goes to the agent and is never stored.
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { credentialsRepo } from '../db/credentials.repo.js';
import { agentsRepo } from '../db/agents.repo.js';
import { AgentNotFound, BrokerUnavailable } from '../errors.js';
import type { CredentialIssuer as BrokerIssuer } from '../broker/index.js';
import type { RevocationOutcome } from '../broker/credentials.js';
import { SINGLETON_KEYS, withClusterLock } from '../db/singleton-lock.js';
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

  /**
   * Makes the broker enforce every revocation recorded in the database and not yet applied, one
   * replica at a time (an advisory lock): the pusher reads the pending keys inside the lock, so
   * whatever any replica committed before is included, and the push adds only what the broker
   * lacks, so a push repeated after a crash changes nothing. What cannot be applied now stays
   * pending and is pushed again by the next revocation or the periodic retry.
   */
  function pushRevocations(): Promise<RevocationOutcome> {
    const run = pushing.then(() =>
      withClusterLock(db, SINGLETON_KEYS.revocationPush, async (q) => {
        const b = broker();
        if (!b) return { applied: false, detail: 'no broker is configured' };
        const repo = credentialsRepo(q);
        const pending = await repo.pendingRevocations();
        // Host mode keeps its nats-server's list on disk: a key the database has revoked but the
        // list lacks (a lost file) is pushed too.
        const known = b.issuer.revocations();
        const missing = (await repo.revokedKeys()).filter((k) => !Object.hasOwn(known, k));
        const keys = [...new Set([...pending.map((p) => p.public_key), ...missing])];
        if (keys.length === 0) return { applied: true, detail: 'nothing pending' };
        const outcome = await b.issuer.ensureRevoked(keys);
        if (outcome.applied) await repo.markRevocationsApplied(pending.map((p) => p.id));
        else logger.warn({ pending: pending.length, detail: outcome.detail }, 'revocations recorded but not yet applied; retrying');
        return outcome;
      }),
    );
    pushing = run.catch(() => undefined);
    return run;
  }
  let pushing: Promise<unknown> = Promise.resolve();
  let retryTimer: NodeJS.Timeout | undefined;

  async function revokeKeys(keys: string[], agentId: string): Promise<void> {
    if (keys.length === 0) return;
    const outcome = await pushRevocations().catch((err: Error) => ({ applied: false, detail: err.message }));
    if (!outcome.applied) logger.warn({ agentId, detail: outcome.detail }, 'revocation recorded but not yet applied');
  }

  return {
    /** Pushes pending revocations now, then every `retryMs` while some are pending (the broker was down, say). */
    start(retryMs = 15_000): void {
      // The first push also checks the broker's whole list against the database's (a lost file,
      // an account JWT an older version wrote); later ones run only while something is pending.
      let first = true;
      const tick = async () => {
        try {
          if (first || (await credentialsRepo(db.knex).countPendingRevocations()) > 0) await pushRevocations();
          first = false;
        } catch (err) {
          logger.debug({ err: (err as Error).message }, 'revocation push not possible now');
        }
        retryTimer = setTimeout(() => void tick(), retryMs);
        retryTimer.unref();
      };
      void tick();
    },
    async stop(): Promise<void> {
      clearTimeout(retryTimer);
      retryTimer = undefined;
      await pushing;
    },
    pushRevocations,
    /** After the broker is reachable again: pushes what waited for it. */
    async pushIfPending(): Promise<void> {
      try {
        if ((await credentialsRepo(db.knex).countPendingRevocations()) > 0) await pushRevocations();
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'revocation push not possible now');
      }
    },
    /** Revoked keys the broker does not enforce yet. */
    pendingRevocations: () => credentialsRepo(db.knex).countPendingRevocations(),
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
