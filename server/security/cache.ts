// In-memory views of roles, users' token versions, revoked access tokens and API tokens,
// so that authenticating a request costs no database round trip. Local changes invalidate
// at once; entries also expire after a few seconds so that replicas sharing a database
// converge.
import type { Database } from '../db/database.js';
import { type ApiTokenRow, apiTokensRepo, revokedAccessTokensRepo, rolesRepo, type UserRow, usersRepo } from '../db/auth.repo.js';
import { isPermission, type Permission } from './permissions.js';

const TTL_MS = 5000;

interface Timed<T> {
  value: T;
  at: number;
}

export type SecurityCache = ReturnType<typeof createSecurityCache>;

export function createSecurityCache(db: Database) {
  let roles: Timed<Map<string, ReadonlySet<Permission>>> | undefined;
  let revoked: Timed<Map<string, number>> | undefined;
  const users = new Map<string, Timed<UserRow | undefined>>();
  const apiTokens = new Map<string, Timed<ApiTokenRow | undefined>>();
  const fresh = (t: Timed<unknown> | undefined) => t !== undefined && Date.now() - t.at < TTL_MS;

  async function loadRoles(): Promise<Map<string, ReadonlySet<Permission>>> {
    const rows = await rolesRepo(db.knex).all();
    const map = new Map(rows.map((r) => [r.name, new Set(r.permissions.filter(isPermission)) as ReadonlySet<Permission>]));
    roles = { value: map, at: Date.now() };
    return map;
  }

  return {
    async permissionsOf(role: string): Promise<ReadonlySet<Permission> | undefined> {
      const map = fresh(roles) ? roles!.value : await loadRoles();
      return map.get(role);
    },
    async user(id: string): Promise<UserRow | undefined> {
      const hit = users.get(id);
      if (fresh(hit)) return hit!.value;
      const value = await usersRepo(db.knex).byId(id);
      users.set(id, { value, at: Date.now() });
      return value;
    },
    async apiToken(hash: string): Promise<ApiTokenRow | undefined> {
      const hit = apiTokens.get(hash);
      if (fresh(hit)) return hit!.value;
      const value = await apiTokensRepo(db.knex).byHash(hash);
      if (apiTokens.size > 10_000) apiTokens.clear();
      apiTokens.set(hash, { value, at: Date.now() });
      return value;
    },
    async isRevoked(jti: string): Promise<boolean> {
      if (!fresh(revoked)) {
        const rows = await revokedAccessTokensRepo(db.knex).active();
        revoked = { value: new Map(rows.map((r) => [r.jti, r.expires_at.getTime()])), at: Date.now() };
      }
      return revoked!.value.has(jti);
    },
    markRevoked(jti: string, expiresAtMs: number): void {
      revoked?.value.set(jti, expiresAtMs);
    },
    invalidateRoles: () => (roles = undefined),
    invalidateUser: (id: string) => users.delete(id),
    invalidateApiTokens: () => apiTokens.clear(),
  };
}
