// The credential issuer: per-agent NATS users signed by the application account key, the
// AMS's own user, and revocation (the account JWT's revocation list, applied by whoever
// holds the account: host mode reloads nats-server, external mode pushes a claims update).
// Issued seeds and JWTs are returned to the caller and never logged or stored here.
import fs from 'node:fs';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account, type OperatorLimits } from '@nats-io/jwt';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { natsSubjectProblem } from '../domain/identifiers.js';
import { type FieldIssue, ValidationFailed } from '../errors.js';
import type { HostKeys } from './key-store.js';
import { writeSecretFile } from './key-store.js';
import type { NatsAuthConfig } from './nats-server.js';
import { reservedTopicProblem, subjects } from './subjects.js';

export interface UserPermissions {
  pub: { allow: string[]; deny?: string[] };
  sub: { allow: string[]; deny?: string[] };
  /** Allows publishing one reply to the reply subject of each request received. */
  resp?: { max: number; ttl: number };
}

export interface IssuedCredentials {
  /** The user's public nkey (`U...`): what a revocation names and what the integrator stores. */
  publicKey: string;
  jwt: string;
  seed: string;
  /** The standard `.creds` file body (JWT and seed blocks). */
  creds: string;
}

export interface AgentGrant {
  agentId: string;
  subscribedTopics?: string[];
  findingsTopic?: string | null;
}

/**
 * What an agent may do (DESIGN.md): publish under `opmas.agents.<id>.>` except its control
 * subject, and to its findings topic; subscribe to its control subject, its topics and its own
 * inbox; answer the requests it receives. Throws ValidationFailed naming each bad topic.
 */
export function agentPermissions(grant: AgentGrant): UserPermissions {
  const own = subjects.agent(grant.agentId);
  const issues: FieldIssue[] = [];
  const topics = grant.subscribedTopics ?? [];
  topics.forEach((t, i) => {
    const problem = natsSubjectProblem(t, true) ?? reservedTopicProblem(t);
    if (problem) issues.push({ path: `subscribed_topics.${i}`, reason: problem, in: 'body' });
  });
  const findings = grant.findingsTopic ?? undefined;
  if (findings !== undefined) {
    const problem = natsSubjectProblem(findings, false) ?? reservedTopicProblem(findings);
    if (problem) issues.push({ path: 'findings_topic', reason: problem, in: 'body' });
  }
  if (issues.length > 0) throw new ValidationFailed(issues);
  return {
    pub: { allow: [own.all, ...(findings ? [findings] : [])], deny: [own.control] },
    sub: { allow: [own.control, own.inbox, ...new Set(topics)] },
    resp: { max: 1, ttl: 0 },
  };
}

/**
 * The AMS's own user (the control plane): hears every agent, sends control requests, answers its
 * hosts' supervisors and sends them specs, consumes observations and watches leases (JetStream).
 */
export function amsPermissions(): UserPermissions {
  return {
    pub: { allow: [subjects.everyAgent.control, subjects.everyHost.supervisors, 'opmas.events.>', '$JS.API.>', '$JS.ACK.>', '$JS.FC.>', '$KV.>'] },
    sub: { allow: [subjects.everyAgent.all, subjects.amsInbox, 'opmas.ctl.>'] },
    resp: { max: 1, ttl: 0 },
  };
}

/**
 * One host's supervisor: publishes its observations (JetStream) and requests under its own host
 * id, renews its own lease, hears its agents' heartbeats and metrics and sends them control
 * requests; it reads nothing of other hosts' requests or specs.
 */
export function supervisorPermissions(hostId: string): UserPermissions {
  const host = subjects.host(hostId);
  return {
    pub: {
      allow: [host.observations, `opmas.ctl.${hostId}.>`, subjects.everyAgent.control, '$JS.API.>', `$KV.OPMAS_HOST_LEASES.${hostId}`, `$KV.OPMAS_HOST_EPOCHS.${hostId}`],
    },
    sub: { allow: [host.supervisorAll, host.inbox, subjects.everyAgent.heartbeat, subjects.everyAgent.metrics] },
    resp: { max: 1, ttl: 0 },
  };
}

/** `.creds` file body for a user JWT and its key. */
export function formatCreds(jwt: string, user: KeyPair): string {
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

export interface RevocationOutcome {
  /** True once the broker enforces the revocation (the user's connections are closed). */
  applied: boolean;
  detail: string;
}

/**
 * Revoked user public keys -> unix seconds. Host mode keeps them in `<dataDir>/nats/revocations.json`
 * for its nats-server's configuration (the database's agent_credentials stay the truth).
 */
export interface RevocationStore {
  list(): Record<string, number>;
  add(publicKey: string, at: number): void;
}

/** External mode: the account JWT is what the broker enforces, the database the truth; this is what this process pushed. */
export function createMemoryRevocationStore(): RevocationStore {
  const list: Record<string, number> = Object.create(null);
  return { list: () => ({ ...list }), add: (publicKey, at) => void (list[publicKey] = at) };
}

export function createFileRevocationStore(file: string): RevocationStore {
  let cache: Record<string, number> | undefined;
  const load = () => {
    if (cache) return cache;
    try {
      cache = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      cache = {};
    }
    return cache;
  };
  return {
    list: () => ({ ...load() }),
    add(publicKey, at) {
      const next = { ...load(), [publicKey]: at };
      writeSecretFile(file, `${JSON.stringify(next, null, 2)}\n`);
      cache = next;
    },
  };
}

export interface CredentialIssuerDeps {
  /** The application account's public key (`A...`). */
  accountPublicKey: string;
  /** The key users are signed with: the account key itself, or one of its signing keys. */
  signingKey: KeyPair;
  revocations: RevocationStore;
  /** Makes the broker enforce the current revocation list. */
  applyRevocations(list: Record<string, number>): Promise<RevocationOutcome>;
  now?: () => number;
}

export type CredentialIssuer = ReturnType<typeof createCredentialIssuer>;

export function createCredentialIssuer(deps: CredentialIssuerDeps) {
  const now = deps.now ?? Date.now;
  const scoped = deps.signingKey.getPublicKey() !== deps.accountPublicKey;
  let chain: Promise<unknown> = Promise.resolve();

  function ensureRevoked(publicKeys: string[]): Promise<RevocationOutcome> {
    if (publicKeys.some((k) => !/^U[A-Z2-7]{55}$/.test(k))) return Promise.reject(new TypeError('not a user public key'));
    if (publicKeys.length === 0) return Promise.resolve({ applied: true, detail: 'nothing to revoke' });
    const run = chain.then(async () => {
      const at = Math.floor(now() / 1000);
      const known = deps.revocations.list();
      const added = publicKeys.filter((k) => !Object.hasOwn(known, k));
      for (const key of added) deps.revocations.add(key, at);
      return deps.applyRevocations(deps.revocations.list());
    });
    chain = run.catch(() => undefined);
    return run;
  }

  async function issueUser(name: string, permissions: UserPermissions): Promise<IssuedCredentials> {
    const user = createUser();
    const jwt = await encodeUser(
      name,
      user,
      scoped ? deps.accountPublicKey : deps.signingKey,
      { pub: permissions.pub, sub: permissions.sub, ...(permissions.resp ? { resp: permissions.resp } : {}) },
      scoped ? { signer: deps.signingKey } : {},
    );
    return { publicKey: user.getPublicKey(), jwt, seed: new TextDecoder().decode(user.getSeed()), creds: formatCreds(jwt, user) };
  }

  return {
    accountPublicKey: deps.accountPublicKey,
    /** A fresh user for one agent, restricted to its own subjects and topics. */
    issueAgent: async (grant: AgentGrant) => issueUser(grant.agentId, agentPermissions(grant)),
    issueAms: () => issueUser('opmas-ams', amsPermissions()),
    /** The user of one host's supervisor (role all issues its own; a cluster's are made by `nats-config`). */
    issueSupervisor: (hostId: string) => issueUser(`opmas-supervisor-${hostId}`, supervisorPermissions(hostId)),
    /** Any user of the application account, for tools and tests; prefer issueAgent. */
    issueUser,
    /**
     * Revokes a user: its JWT no longer authenticates and, once applied, its open connections
     * are closed. Revocations are serialized and persisted before they are applied, so one that
     * cannot be applied now (broker down) is applied at the broker's next start.
     */
    revoke(publicKey: string): Promise<RevocationOutcome> {
      return ensureRevoked([publicKey]);
    },
    /**
     * Makes the broker enforce every one of these revocations with one application (in host
     * mode each application is a nats-server reload, which briefly drops every connection of the
     * account). Keys revoked already keep their time; the others are revoked as of now. Applying
     * the same list twice changes nothing, so the database's whole list can be pushed again.
     */
    ensureRevoked,
    isRevoked: (publicKey: string) => Object.hasOwn(deps.revocations.list(), publicKey),
    revocations: () => deps.revocations.list(),
  };
}

// Account limits are all spelled out: a limit missing from the JWT means 0 to nats-server.
const UNLIMITED: OperatorLimits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const JETSTREAM_UNLIMITED: OperatorLimits = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1, max_ack_pending: -1 };

/** The application account's claims: unlimited, JetStream on, and the current revocations. */
export function applicationAccountClaims(revocations: Record<string, number>): Partial<Account> {
  return { limits: { ...UNLIMITED, ...JETSTREAM_UNLIMITED }, ...(Object.keys(revocations).length > 0 ? { revocations } : {}) };
}

/**
 * Host mode's trust chain as nats-server configuration: operator, system account, application
 * account. The operator and system JWTs are made once: nats-server refuses a reload that
 * changes the trusted operator, and only the application account (its revocations) changes.
 */
export function createHostAuthConfig(keys: HostKeys): (revocations: Record<string, number>) => Promise<NatsAuthConfig> {
  const systemAccount = keys.systemAccount.getPublicKey();
  let fixed: Promise<{ operatorJwt: string; systemJwt: string }> | undefined;
  return async (revocations) => {
    fixed ??= (async () => ({
      operatorJwt: await encodeOperator('OPMAS', keys.operator, { system_account: systemAccount }),
      systemJwt: await encodeAccount('SYS', keys.systemAccount, { limits: UNLIMITED }, { signer: keys.operator }),
    }))();
    const { operatorJwt, systemJwt } = await fixed;
    const appJwt = await encodeAccount('OPMAS', keys.account, applicationAccountClaims(revocations), { signer: keys.operator });
    return { operatorJwt, systemAccount, preload: { [systemAccount]: systemJwt, [keys.account.getPublicKey()]: appJwt } };
  };
}
