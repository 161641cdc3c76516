// Users, roles and API tokens: the admin side of RBAC. Changing a user's role, password or
// state bumps its token version, which revokes every access token it holds at once.
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';
import { agentsRepo } from '../db/agents.repo.js';
import { type ApiTokenRow, apiTokensRepo, refreshTokensRepo, type RoleRow, rolesRepo, type UserRow, usersRepo } from '../db/auth.repo.js';
import { AmsError, Conflict, NotFound, ValidationFailed } from '../errors.js';
import { type Page, toPage } from '../http/cursor.js';
import type { SecurityCache } from './cache.js';
import { Forbidden } from './errors.js';
import { AGENT_ROLE, type Permission } from './permissions.js';
import type { Principal } from './principal.js';
import { hashPassword, HOST_USER } from './sessions.js';
import { hashToken, newOpaqueToken } from './secrets.js';

export interface UserView {
  id: string;
  username: string;
  role: string;
  agent_id: string | null;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface RoleView {
  name: string;
  description: string | null;
  permissions: string[];
  builtin: boolean;
}

export interface ApiTokenView {
  id: string;
  name: string;
  role: string;
  agent_id: string | null;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const iso = (d: Date | null) => (d ? d.toISOString() : null);
export const presentUser = (u: UserRow): UserView => ({
  id: u.id,
  username: u.username,
  role: u.role,
  agent_id: u.agent_id,
  disabled: u.disabled,
  created_at: u.created_at.toISOString(),
  updated_at: u.updated_at.toISOString(),
});
export const presentRole = (r: RoleRow): RoleView => ({ name: r.name, description: r.description, permissions: r.permissions, builtin: r.builtin });
const presentToken = (t: ApiTokenRow): ApiTokenView => ({
  id: t.id,
  name: t.name,
  role: t.role,
  agent_id: t.agent_id,
  created_by: t.created_by,
  created_at: t.created_at.toISOString(),
  expires_at: iso(t.expires_at),
  last_used_at: iso(t.last_used_at),
  revoked_at: iso(t.revoked_at),
});

export type IdentityService = ReturnType<typeof createIdentityService>;

export function createIdentityService({ db, cache }: { db: Database; cache: SecurityCache }) {
  const users = usersRepo(db.knex);
  const roles = rolesRepo(db.knex);

  async function requireRole(name: string, field = 'role'): Promise<RoleRow> {
    const role = await roles.get(name);
    if (!role) throw new ValidationFailed([{ path: field, reason: `role ${JSON.stringify(name)} does not exist`, in: 'body' }]);
    return role;
  }

  async function requireAgentBinding(role: string, agentId: string | null | undefined): Promise<void> {
    if (role === AGENT_ROLE && !agentId) throw new ValidationFailed([{ path: 'agent_id', reason: 'is required for the agent role', in: 'body' }]);
    if (role !== AGENT_ROLE && agentId) throw new ValidationFailed([{ path: 'agent_id', reason: 'is only allowed with the agent role', in: 'body' }]);
    if (agentId && !(await agentsRepo(db.knex).exists(agentId))) {
      throw new ValidationFailed([{ path: 'agent_id', reason: 'no such agent', in: 'body' }]);
    }
  }

  async function getUser(id: string): Promise<UserRow> {
    const user = UUID.test(id) ? await users.byId(id) : undefined;
    if (!user) throw new NotFound('user_not_found', `User ${JSON.stringify(id)} does not exist`);
    return user;
  }

  async function getRole(name: string): Promise<RoleRow> {
    const role = await roles.get(name);
    if (!role) throw new NotFound('role_not_found', `Role ${JSON.stringify(name)} does not exist`);
    return role;
  }

  return {
    async listUsers(limit: number, after?: string): Promise<Page<UserView>> {
      return toPage(await users.list(limit, after), limit, presentUser, (u) => ({ u: u.username }));
    },
    getUser: async (id: string) => presentUser(await getUser(id)),

    async createUser(input: { username: string; password: string; role: string; agent_id?: string | null }): Promise<UserView> {
      await requireRole(input.role);
      await requireAgentBinding(input.role, input.agent_id);
      if (input.username === HOST_USER) throw new Conflict('user_exists', `${HOST_USER} is reserved for the desktop app`);
      const id = randomUUID();
      try {
        await users.insert({ id, username: input.username, password_hash: await hashPassword(input.password), role: input.role, agent_id: input.agent_id ?? null });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new Conflict('user_exists', `User ${JSON.stringify(input.username)} already exists`);
        throw err;
      }
      return presentUser(await getUser(id));
    },

    async updateUser(id: string, changes: { password?: string; role?: string; agent_id?: string | null; disabled?: boolean }): Promise<{ before: UserView; after: UserView }> {
      const user = await getUser(id);
      const role = changes.role ?? user.role;
      if (changes.role) await requireRole(changes.role);
      const agentId = changes.agent_id !== undefined ? changes.agent_id : role === AGENT_ROLE ? user.agent_id : null;
      await requireAgentBinding(role, agentId);
      if (user.role === 'admin' && (role !== 'admin' || changes.disabled) && (await users.countAdmins()) <= 1) {
        throw new Conflict('last_admin', 'The last enabled admin cannot be demoted or disabled');
      }
      await db.knex.transaction(async (trx) => {
        await usersRepo(trx).update(
          id,
          {
            ...(changes.password !== undefined ? { password_hash: await hashPassword(changes.password) } : {}),
            ...(changes.role !== undefined ? { role: changes.role } : {}),
            agent_id: agentId ?? null,
            ...(changes.disabled !== undefined ? { disabled: changes.disabled } : {}),
          },
          true,
        );
        await refreshTokensRepo(trx).revokeUser(id);
      });
      cache.invalidateUser(id);
      return { before: presentUser(user), after: presentUser(await getUser(id)) };
    },

    async deleteUser(id: string): Promise<UserView> {
      const user = await getUser(id);
      if (user.role === 'admin' && !user.disabled && (await users.countAdmins()) <= 1) {
        throw new Conflict('last_admin', 'The last enabled admin cannot be deleted');
      }
      await users.remove(id);
      cache.invalidateUser(id);
      return presentUser(user);
    },

    listRoles: async (): Promise<RoleView[]> => (await roles.all()).map(presentRole),
    getRole: async (name: string) => presentRole(await getRole(name)),

    async createRole(input: { name: string; description?: string | null; permissions: Permission[] }): Promise<RoleView> {
      if (await roles.get(input.name)) throw new Conflict('role_exists', `Role ${JSON.stringify(input.name)} already exists`);
      await roles.insert(input.name, input.description ?? null, [...new Set(input.permissions)]);
      cache.invalidateRoles();
      return presentRole(await getRole(input.name));
    },

    async updateRole(name: string, changes: { description?: string | null; permissions?: Permission[] }): Promise<{ before: RoleView; after: RoleView }> {
      const role = await getRole(name);
      if (role.builtin) throw new Forbidden(`Built-in role ${JSON.stringify(name)} cannot be changed`, undefined, 'builtin_role');
      await roles.update(name, { ...changes, permissions: changes.permissions && [...new Set(changes.permissions)] });
      cache.invalidateRoles();
      return { before: presentRole(role), after: presentRole(await getRole(name)) };
    },

    async deleteRole(name: string): Promise<RoleView> {
      const role = await getRole(name);
      if (role.builtin) throw new Forbidden(`Built-in role ${JSON.stringify(name)} cannot be deleted`, undefined, 'builtin_role');
      if (await roles.inUse(name)) throw new Conflict('role_in_use', `Role ${JSON.stringify(name)} is still held by users or tokens`);
      await roles.remove(name);
      cache.invalidateRoles();
      return presentRole(role);
    },

    /** Creates an API token; its secret is in the answer only. A principal cannot mint more power than it has. */
    async createApiToken(creator: Principal, input: { name: string; role: string; agent_id?: string | null; expires_in?: number | null }): Promise<ApiTokenView & { token: string }> {
      const role = await requireRole(input.role);
      const missing = role.permissions.filter((p) => !creator.permissions.has(p as Permission));
      if (missing.length > 0) {
        throw new Forbidden(`A token cannot have permissions its creator lacks: ${missing.join(', ')}`, [{ path: 'role', reason: 'exceeds your permissions', in: 'body' }], 'field_not_permitted');
      }
      await requireAgentBinding(input.role, input.agent_id);
      const token = newOpaqueToken('oat');
      const id = randomUUID();
      await apiTokensRepo(db.knex).insert({
        id,
        name: input.name,
        role: input.role,
        agent_id: input.agent_id ?? null,
        token_hash: hashToken(token),
        created_by: creator.name,
        expires_at: input.expires_in ? new Date(Date.now() + input.expires_in * 1000) : null,
      });
      return { ...presentToken((await apiTokensRepo(db.knex).byId(id))!), token };
    },

    async listApiTokens(limit: number, after?: { created_at: string; id: string }): Promise<Page<ApiTokenView>> {
      return toPage(await apiTokensRepo(db.knex).list(limit, after), limit, presentToken, (t) => ({ c: t.created_at.toISOString(), i: t.id }));
    },

    async revokeApiToken(id: string): Promise<ApiTokenView> {
      const row = UUID.test(id) ? await apiTokensRepo(db.knex).byId(id) : undefined;
      if (!row) throw new NotFound('token_not_found', `API token ${JSON.stringify(id)} does not exist`);
      if (row.revoked_at) throw new AmsError(409, 'token_revoked', 'The token is already revoked');
      await apiTokensRepo(db.knex).revoke(id);
      cache.invalidateApiTokens();
      return presentToken((await apiTokensRepo(db.knex).byId(id))!);
    },
  };
}
