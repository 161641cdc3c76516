// users, roles, refresh_tokens, api_tokens, revoked_access_tokens.
import type { Queryable } from './agents.repo.js';

export interface RoleRow {
  name: string;
  description: string | null;
  permissions: string[];
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface UserRow {
  id: string;
  username: string;
  password_hash: string | null;
  role: string;
  agent_id: string | null;
  token_version: number;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface RefreshTokenRow {
  id: string;
  family_id: string;
  user_id: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export interface ApiTokenRow {
  id: string;
  name: string;
  role: string;
  agent_id: string | null;
  token_hash: string;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export function rolesRepo(q: Queryable) {
  return {
    all: (): Promise<RoleRow[]> => q('roles').select('*').orderBy('name'),
    get: (name: string): Promise<RoleRow | undefined> => q('roles').where({ name }).first(),
    async upsertBuiltin(name: string, description: string, permissions: string[]): Promise<void> {
      await q('roles')
        .insert({ name, description, permissions: JSON.stringify(permissions), builtin: true })
        .onConflict('name')
        .merge({ description, permissions: JSON.stringify(permissions), builtin: true, updated_at: q.fn.now(3) });
    },
    async insert(name: string, description: string | null, permissions: string[]): Promise<void> {
      await q('roles').insert({ name, description, permissions: JSON.stringify(permissions), builtin: false });
    },
    async update(name: string, changes: { description?: string | null; permissions?: string[] }): Promise<void> {
      const row: Record<string, unknown> = { updated_at: q.fn.now(3) };
      if (changes.description !== undefined) row.description = changes.description;
      if (changes.permissions !== undefined) row.permissions = JSON.stringify(changes.permissions);
      await q('roles').where({ name }).update(row);
    },
    remove: (name: string) => q('roles').where({ name, builtin: false }).delete(),
    async inUse(name: string): Promise<boolean> {
      const user = await q('users').where({ role: name }).first('id');
      const token = await q('api_tokens').where({ role: name }).whereNull('revoked_at').first('id');
      return Boolean(user || token);
    },
  };
}

export function usersRepo(q: Queryable) {
  return {
    count: async (): Promise<number> => Number((await q('users').count('* as n').first())?.n ?? 0),
    byId: (id: string): Promise<UserRow | undefined> => q('users').where({ id }).first(),
    byUsername: (username: string): Promise<UserRow | undefined> => q('users').where({ username }).first(),
    async insert(row: Omit<UserRow, 'created_at' | 'updated_at' | 'token_version' | 'disabled'> & { disabled?: boolean }): Promise<void> {
      await q('users').insert(row);
    },
    async update(id: string, changes: Partial<Pick<UserRow, 'password_hash' | 'role' | 'agent_id' | 'disabled'>>, bumpTokenVersion: boolean): Promise<void> {
      const row: Record<string, unknown> = { ...changes, updated_at: q.fn.now(3) };
      if (bumpTokenVersion) row.token_version = q.raw('token_version + 1');
      await q('users').where({ id }).update(row);
    },
    remove: (id: string) => q('users').where({ id }).delete(),
    list: (limit: number, after?: string): Promise<UserRow[]> => {
      const query = q('users').select('*').orderBy('username').limit(limit + 1);
      if (after) query.where('username', '>', after);
      return query;
    },
    countAdmins: async (): Promise<number> =>
      Number((await q('users').where({ role: 'admin', disabled: false }).count('* as n').first())?.n ?? 0),
  };
}

export function refreshTokensRepo(q: Queryable) {
  return {
    async insert(row: Pick<RefreshTokenRow, 'id' | 'family_id' | 'user_id' | 'token_hash' | 'expires_at'>): Promise<void> {
      await q('refresh_tokens').insert(row);
    },
    /** Locks the row so that two concurrent refreshes with one token cannot both rotate it. */
    byHashForUpdate: (hash: string): Promise<RefreshTokenRow | undefined> => q('refresh_tokens').where({ token_hash: hash }).forUpdate().first(),
    byHash: (hash: string): Promise<RefreshTokenRow | undefined> => q('refresh_tokens').where({ token_hash: hash }).first(),
    markUsed: (id: string) => q('refresh_tokens').where({ id }).update({ used_at: q.fn.now(3) }),
    revokeFamily: (familyId: string) => q('refresh_tokens').where({ family_id: familyId }).whereNull('revoked_at').update({ revoked_at: q.fn.now(3) }),
    revokeUser: (userId: string) => q('refresh_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: q.fn.now(3) }),
  };
}

export function apiTokensRepo(q: Queryable) {
  return {
    async insert(row: Omit<ApiTokenRow, 'created_at' | 'last_used_at' | 'revoked_at'>): Promise<void> {
      await q('api_tokens').insert(row);
    },
    byHash: (hash: string): Promise<ApiTokenRow | undefined> => q('api_tokens').where({ token_hash: hash }).first(),
    byId: (id: string): Promise<ApiTokenRow | undefined> => q('api_tokens').where({ id }).first(),
    list: (limit: number, after?: { created_at: string; id: string }): Promise<ApiTokenRow[]> => {
      const query = q('api_tokens').select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit + 1);
      if (after) query.whereRaw('(created_at, id) < (?::timestamptz, ?)', [after.created_at, after.id]);
      return query;
    },
    revoke: (id: string) => q('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: q.fn.now(3) }),
    touch: (id: string) => q('api_tokens').where({ id }).update({ last_used_at: q.fn.now(3) }),
  };
}

export function revokedAccessTokensRepo(q: Queryable) {
  return {
    async add(jti: string, expiresAt: Date): Promise<void> {
      await q('revoked_access_tokens').insert({ jti, expires_at: expiresAt }).onConflict('jti').ignore();
    },
    active: (): Promise<Array<{ jti: string; expires_at: Date }>> => q('revoked_access_tokens').where('expires_at', '>', q.fn.now(3)).select('jti', 'expires_at'),
    prune: () => q('revoked_access_tokens').where('expires_at', '<=', q.fn.now(3)).delete(),
  };
}

export function revokedSessionsRepo(q: Queryable) {
  return {
    /** Records the family as revoked until `expiresAt` (when its last access token has expired). */
    async add(familyId: string, reason: string, expiresAt: Date): Promise<void> {
      await q('revoked_sessions')
        .insert({ family_id: familyId, reason, expires_at: expiresAt })
        .onConflict('family_id')
        .merge({ expires_at: q.raw('GREATEST(revoked_sessions.expires_at, excluded.expires_at)') });
    },
    prune: () => q('revoked_sessions').where('expires_at', '<=', q.fn.now(3)).delete(),
  };
}

/** Every revocation still in force, of single access tokens and of whole sessions, in one round trip. */
export async function activeRevocations(q: Queryable): Promise<Array<{ kind: 'jti' | 'sid'; id: string; expires_at: Date }>> {
  const { rows } = (await q.raw(
    `SELECT 'jti' AS kind, jti AS id, expires_at FROM revoked_access_tokens WHERE expires_at > now()
     UNION ALL
     SELECT 'sid' AS kind, family_id::text AS id, expires_at FROM revoked_sessions WHERE expires_at > now()`,
  )) as { rows: Array<{ kind: 'jti' | 'sid'; id: string; expires_at: Date }> };
  return rows;
}

/** One-time setup tokens (hashes), valid on every replica until the first admin exists. */
export function setupTokensRepo(q: Queryable) {
  return {
    async add(hash: string): Promise<void> {
      await q('setup_tokens').insert({ token_hash: hash }).onConflict('token_hash').ignore();
    },
    exists: async (hash: string): Promise<boolean> => Boolean(await q('setup_tokens').where({ token_hash: hash }).first('token_hash')),
    any: async (): Promise<boolean> => Boolean(await q('setup_tokens').first('token_hash')),
    async clear(): Promise<void> {
      await q('setup_tokens').del();
    },
  };
}
