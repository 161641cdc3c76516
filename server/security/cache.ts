// Views of what authentication reads on every request (roles, users' token versions, API
// tokens, revoked access tokens and revoked sessions), so that a request rarely costs a
// database round trip. The database is the truth: no entry is used once it is more than
// MAX_AGE_MS old, so a revocation written by any replica sharing the database is seen by
// every replica within that time; this replica's own changes take effect at once.
import type { Database } from '../db/database.js';
import { activeRevocations, type ApiTokenRow, apiTokensRepo, rolesRepo, type UserRow, usersRepo } from '../db/auth.repo.js';
import { isPermission, type Permission } from './permissions.js';

/** How old a cached view may be: the bound on how long another replica's revocation takes to reach this one. */
export const MAX_AGE_MS = 2000;

interface Timed<T> {
  value: T;
  /** When the read that produced the value started (a change committed before it is in the value). */
  at: number;
}

interface Revocations {
  jtis: ReadonlySet<string>;
  sessions: ReadonlySet<string>;
}

export type SecurityCache = ReturnType<typeof createSecurityCache>;

export function createSecurityCache(db: Database, maxAgeMs = MAX_AGE_MS) {
  let roles: Timed<Map<string, ReadonlySet<Permission>>> | undefined;
  let revoked: Timed<Revocations> | undefined;
  let loadingRevoked: Promise<Timed<Revocations>> | undefined;
  // Revocations made by this replica, kept until they expire: a snapshot read that started
  // before one was committed must not hide it.
  const localJtis = new Map<string, number>();
  const localSessions = new Map<string, number>();
  const users = new Map<string, Timed<UserRow | undefined>>();
  const apiTokens = new Map<string, Timed<ApiTokenRow | undefined>>();
  const fresh = (t: Timed<unknown> | undefined) => t !== undefined && Date.now() - t.at < maxAgeMs;

  async function loadRoles(): Promise<Map<string, ReadonlySet<Permission>>> {
    const at = Date.now();
    const rows = await rolesRepo(db.knex).all();
    const map = new Map(rows.map((r) => [r.name, new Set(r.permissions.filter(isPermission)) as ReadonlySet<Permission>]));
    roles = { value: map, at };
    return map;
  }

  /** One snapshot of every revocation in force; concurrent requests share the read. */
  async function revocations(): Promise<Revocations> {
    if (fresh(revoked)) return revoked!.value;
    loadingRevoked ??= (async () => {
      const at = Date.now();
      const rows = await activeRevocations(db.knex);
      const value: Revocations = {
        jtis: new Set(rows.filter((r) => r.kind === 'jti').map((r) => r.id)),
        sessions: new Set(rows.filter((r) => r.kind === 'sid').map((r) => r.id)),
      };
      revoked = { value, at };
      return revoked;
    })().finally(() => (loadingRevoked = undefined));
    return (await loadingRevoked).value;
  }

  const heldLocally = (marks: Map<string, number>, id: string): boolean => {
    const until = marks.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    marks.delete(id);
    return false;
  };

  return {
    async permissionsOf(role: string): Promise<ReadonlySet<Permission> | undefined> {
      const map = fresh(roles) ? roles!.value : await loadRoles();
      return map.get(role);
    },
    async user(id: string): Promise<UserRow | undefined> {
      const hit = users.get(id);
      if (fresh(hit)) return hit!.value;
      const at = Date.now();
      const value = await usersRepo(db.knex).byId(id);
      if (users.size > 10_000) users.clear();
      users.set(id, { value, at });
      return value;
    },
    async apiToken(hash: string): Promise<ApiTokenRow | undefined> {
      const hit = apiTokens.get(hash);
      if (fresh(hit)) return hit!.value;
      const at = Date.now();
      const value = await apiTokensRepo(db.knex).byHash(hash);
      if (apiTokens.size > 10_000) apiTokens.clear();
      apiTokens.set(hash, { value, at });
      return value;
    },
    /** Whether the access token `jti`, or the session (refresh-token family) `sid` it belongs to, is revoked. */
    async isRevoked(jti: string, sid: string | undefined): Promise<boolean> {
      if (heldLocally(localJtis, jti) || (sid !== undefined && heldLocally(localSessions, sid))) return true;
      const r = await revocations();
      return r.jtis.has(jti) || (sid !== undefined && r.sessions.has(sid));
    },
    /** This replica revoked an access token (already written to the database). */
    markRevoked(jti: string, expiresAtMs: number): void {
      if (localJtis.size > 10_000) localJtis.clear();
      localJtis.set(jti, expiresAtMs);
    },
    /** This replica revoked a session (already written to the database). */
    markSessionRevoked(sid: string, expiresAtMs: number): void {
      if (localSessions.size > 10_000) localSessions.clear();
      localSessions.set(sid, expiresAtMs);
    },
    invalidateRoles: () => (roles = undefined),
    invalidateUser: (id: string) => users.delete(id),
    invalidateApiTokens: () => apiTokens.clear(),
  };
}
