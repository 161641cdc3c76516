// Registration (seed §4): one-time discovery tokens, and registering an agent with one,
// consumed atomically in the same transaction as the agent row, answering the agent's
// own NATS credentials. The scanner and admin callers register through AgentService.create.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Database } from '../db/database.js';
import { type DiscoveryTokenRow, discoveryTokensRepo } from '../db/discovery-tokens.repo.js';
import { credentialsRepo } from '../db/credentials.repo.js';
import { AmsError, NotFound } from '../errors.js';
import { type Page, toPage } from '../http/cursor.js';
import { Forbidden, Unauthenticated } from '../security/errors.js';
import { hashToken, newOpaqueToken } from '../security/secrets.js';
import type { AgentService, AgentView, NewAgentInput } from './agents.js';

export interface IssuedCredentials {
  url: string;
  /** The standard NATS `.creds` file body (user JWT + seed). */
  creds: string;
  publicKey: string;
}

/** Issues NATS users for agents (the broker layer provides it). */
export interface CredentialIssuer {
  issue(agent: { id: string; subscribed_topics: string[]; findings_topic: string | null }): Promise<IssuedCredentials>;
}

export interface DiscoveryTokenView {
  id: string;
  agent_type: string | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by_agent_id: string | null;
  revoked_at: string | null;
  state: 'active' | 'used' | 'expired' | 'revoked';
}

export type RegisteredAgent = AgentView & { nats: { url: string; creds: string } | null };

const DEFAULT_TOKEN_TTL_S = 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

function present(r: DiscoveryTokenRow): DiscoveryTokenView {
  const state = r.used_at ? 'used' : r.revoked_at ? 'revoked' : r.expires_at.getTime() <= Date.now() ? 'expired' : 'active';
  return {
    id: r.id,
    agent_type: r.agent_type,
    created_by: r.created_by,
    created_at: r.created_at.toISOString(),
    expires_at: r.expires_at.toISOString(),
    used_at: iso(r.used_at),
    used_by_agent_id: r.used_by_agent_id,
    revoked_at: iso(r.revoked_at),
    state,
  };
}

export type RegistrationService = ReturnType<typeof createRegistrationService>;

export function createRegistrationService(deps: { db: Database; agents: AgentService; issuer: () => CredentialIssuer | undefined }) {
  const tokens = discoveryTokensRepo(deps.db.knex);

  /** Why a token that could not be consumed was refused (401 unknown, 403 otherwise); reads inside the caller's transaction. */
  async function refusal(trx: Knex.Transaction, hash: string, agentType: string): Promise<AmsError> {
    const row = await discoveryTokensRepo(trx).byHash(hash);
    if (!row) return new Unauthenticated('invalid_discovery_token', 'The discovery token is not valid');
    if (row.used_at) return new Forbidden('The discovery token has already been used', undefined, 'discovery_token_used');
    if (row.revoked_at) return new Forbidden('The discovery token has been revoked', undefined, 'discovery_token_revoked');
    if (row.expires_at.getTime() <= Date.now()) return new Forbidden('The discovery token has expired', undefined, 'discovery_token_expired');
    if (row.agent_type && row.agent_type !== agentType) {
      return new Forbidden(`The discovery token is for agents of type ${JSON.stringify(row.agent_type)}`, undefined, 'discovery_token_type_mismatch');
    }
    return new Forbidden('The discovery token cannot be used', undefined, 'discovery_token_unusable');
  }

  /** Issues and records credentials for a new agent, inside its registration transaction. */
  async function credentialsFor(trx: Knex.Transaction, id: string, input: NewAgentInput): Promise<IssuedCredentials | undefined> {
    const issuer = deps.issuer();
    if (!issuer) return undefined;
    const issued = await issuer.issue({ id, subscribed_topics: input.subscribed_topics ?? [], findings_topic: input.findings_topic ?? null });
    await credentialsRepo(trx).add(id, issued.publicKey);
    return issued;
  }


  return {
    async createToken(createdBy: string, input: { agent_type?: string | null; expires_in?: number | null }): Promise<DiscoveryTokenView & { token: string }> {
      const token = newOpaqueToken('odt');
      const id = randomUUID();
      await tokens.insert({
        id,
        token_hash: hashToken(token),
        agent_type: input.agent_type ?? null,
        created_by: createdBy,
        expires_at: new Date(Date.now() + (input.expires_in ?? DEFAULT_TOKEN_TTL_S) * 1000),
      });
      return { ...present((await tokens.byId(id))!), token };
    },

    async listTokens(limit: number, after?: { created_at: string; id: string }): Promise<Page<DiscoveryTokenView>> {
      return toPage(await tokens.list(limit, after), limit, present, (r) => ({ c: r.created_at.toISOString(), i: r.id }));
    },

    async revokeToken(id: string): Promise<DiscoveryTokenView> {
      const row = UUID.test(id) ? await tokens.byId(id) : undefined;
      if (!row) throw new NotFound('discovery_token_not_found', `Discovery token ${JSON.stringify(id)} does not exist`);
      if ((await tokens.revoke(id)) === 0) throw new AmsError(409, 'discovery_token_not_active', `The discovery token is already ${present(row).state}`);
      return present((await tokens.byId(id))!);
    },

    /** Registers with a one-time token: the token is consumed only if the agent is created. */
    async registerWithToken(input: NewAgentInput, discoveryToken: string): Promise<RegisteredAgent> {
      const hash = hashToken(discoveryToken);
      let issued: IssuedCredentials | undefined;
      const agent = await deps.agents.create(input, { source: 'discovery_token' }, async (trx, id) => {
        const consumed = await discoveryTokensRepo(trx).consume(hash, input.agent_type, id);
        if (!consumed) throw await refusal(trx, hash, input.agent_type);
        issued = await credentialsFor(trx, id, input);
      });
      return { ...agent, nats: issued ? { url: issued.url, creds: issued.creds } : null };
    },

    /** Admin registration without a token: the same agent record, with credentials when a broker is configured. */
    async register(input: NewAgentInput, actor: string): Promise<RegisteredAgent> {
      let issued: IssuedCredentials | undefined;
      const agent = await deps.agents.create(input, { source: 'api', actor }, async (trx, id) => {
        issued = await credentialsFor(trx, id, input);
      });
      return { ...agent, nats: issued ? { url: issued.url, creds: issued.creds } : null };
    },
  };
}
