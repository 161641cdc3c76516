// Sessions: password login, refresh-token rotation with reuse detection (RFC 9700
// §2.2.2), logout, first-run setup, the host-mode session, and resolving a bearer token
// (JWT access token or API token) into a Principal. Access tokens follow RFC 8725: one
// algorithm allowed (HS256), iss/aud/exp/iat/jti/sub required and checked.
import { randomUUID } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { errors as joseErrors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/agents.repo.js';
import { refreshTokensRepo, revokedAccessTokensRepo, revokedSessionsRepo, rolesRepo, setupTokensRepo, type UserRow, usersRepo } from '../db/auth.repo.js';
import { AmsError } from '../errors.js';
import type { SecurityCache } from './cache.js';
import { Forbidden, InvalidToken, Unauthenticated } from './errors.js';
import { BUILTIN_ROLES, type Permission } from './permissions.js';
import type { Principal } from './principal.js';
import { hashToken, newOpaqueToken, sameSecret } from './secrets.js';

export const JWT_ISSUER = 'opmas-ams';
export const JWT_AUDIENCE = 'opmas-api';
const JWT_ALG = 'HS256';
/** The user the desktop app's host mode signs in as; it has no password. */
export const HOST_USER = 'local-admin';

export interface SessionSettings {
  signingKey: Uint8Array;
  accessTtlS: number;
  refreshTtlS: number;
  /** OPMAS_ADMIN_PASSWORD: creates user `admin` on first start. */
  adminPassword?: string;
  /** OPMAS_HOST_SECRET: the desktop app's per-launch secret for POST /auth/host-session. */
  hostSecret?: string;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface SessionDeps {
  db: Database;
  logger: Logger;
  cache: SecurityCache;
  settings: SessionSettings;
  /** Where the one-time setup token is shown (stderr in the product). */
  announce: (line: string, facts?: { setupToken?: string }) => void;
}

export async function hashPassword(password: string): Promise<string> {
  return argonHash(password);
}

// Verifying against this keeps an unknown username as slow as a wrong password.
let decoyHash: Promise<string> | undefined;

export type SessionService = ReturnType<typeof createSessionService>;

export function createSessionService({ db, logger, cache, settings, announce }: SessionDeps) {
  let setupPendingCache: { value: boolean; at: number } | undefined;
  // Imported once: handing jose the raw bytes re-imports the key on every request.
  const jwtKey = crypto.subtle.importKey('raw', settings.signingKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);

  async function issue(user: UserRow, familyId: string = randomUUID()): Promise<TokenPair> {
    const refresh = newOpaqueToken('ort');
    await refreshTokensRepo(db.knex).insert({
      id: randomUUID(),
      family_id: familyId,
      user_id: user.id,
      token_hash: hashToken(refresh),
      expires_at: new Date(Date.now() + settings.refreshTtlS * 1000),
    });
    // `sid` names the login (the refresh-token family), so that revoking the family revokes its access tokens too.
    const access = await new SignJWT({ role: user.role, tv: user.token_version, sid: familyId, ...(user.agent_id ? { agent_id: user.agent_id } : {}) })
      .setProtectedHeader({ alg: JWT_ALG, typ: 'JWT' })
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setSubject(user.id)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${settings.accessTtlS}s`)
      .sign(await jwtKey);
    return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: settings.accessTtlS };
  }

  async function principalOfUser(user: UserRow, claims: { jti?: string; exp?: number; sid?: string } = {}): Promise<Principal> {
    const permissions = (await cache.permissionsOf(user.role)) ?? new Set<Permission>();
    return {
      type: 'user',
      id: user.id,
      name: user.username,
      role: user.role,
      permissions,
      agentId: user.role === 'agent' ? (user.agent_id ?? '\u0000unbound') : undefined,
      jti: claims.jti,
      exp: claims.exp,
      sid: claims.sid,
    };
  }

  // Tokens whose signature and claims were verified, so that a client's next requests skip
  // the HMAC (a hop through the crypto thread pool). Expiry is checked again on every use;
  // revocation and the user's state are checked after this, on every request.
  const verified = new Map<string, JWTPayload>();

  async function verifyJwt(token: string): Promise<JWTPayload> {
    const hit = verified.get(token);
    if (hit) {
      if (hit.exp! * 1000 > Date.now()) return hit;
      verified.delete(token);
      throw new InvalidToken('it has expired');
    }
    try {
      const { payload } = await jwtVerify(token, await jwtKey, {
        algorithms: [JWT_ALG],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      });
      if (verified.size >= 10_000) verified.clear();
      verified.set(token, payload);
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new InvalidToken('it has expired');
      throw new InvalidToken('it is malformed, tampered with, or not issued by this AMS');
    }
  }

  async function fromJwt(token: string): Promise<Principal> {
    const payload = await verifyJwt(token);
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    if (await cache.isRevoked(payload.jti!, sid)) throw new InvalidToken('it has been revoked');
    const user = await cache.user(payload.sub!);
    if (!user || user.disabled) throw new InvalidToken('its user no longer exists or is disabled');
    if (user.token_version !== payload.tv) throw new InvalidToken('it has been revoked');
    return principalOfUser(user, { jti: payload.jti, exp: payload.exp, sid });
  }

  async function fromApiToken(token: string): Promise<Principal> {
    const row = await cache.apiToken(hashToken(token));
    if (!row || row.revoked_at) throw new InvalidToken('unknown or revoked API token');
    if (row.expires_at && row.expires_at.getTime() <= Date.now()) throw new InvalidToken('the API token has expired');
    const permissions = (await cache.permissionsOf(row.role)) ?? new Set<Permission>();
    return {
      type: 'token',
      id: row.id,
      name: row.name,
      role: row.role,
      permissions,
      agentId: row.role === 'agent' ? (row.agent_id ?? '\u0000unbound') : undefined,
    };
  }

  async function createUser(trxUsers: ReturnType<typeof usersRepo>, username: string, password: string | null, role: string): Promise<UserRow> {
    const id = randomUUID();
    await trxUsers.insert({ id, username, password_hash: password === null ? null : await hashPassword(password), role, agent_id: null });
    return (await trxUsers.byId(id))!;
  }

  /**
   * Revokes a whole login: its refresh tokens, and (through `sid`) every access token issued
   * from it, on every replica within the cache's age. `q` is the caller's transaction, if any.
   */
  async function revokeSession(q: Queryable, familyId: string, reason: string): Promise<number> {
    // An access token of the family lives at most accessTtlS after the family's last refresh.
    const until = Date.now() + settings.accessTtlS * 1000 + 5000;
    await refreshTokensRepo(q).revokeFamily(familyId);
    await revokedSessionsRepo(q).add(familyId, reason, new Date(until));
    return until;
  }

  async function passwordUsers(): Promise<number> {
    return Number((await db.knex('users').whereNot('username', HOST_USER).count('* as n').first())?.n ?? 0);
  }

  return {
    /** Seeds the built-in roles and the first admin (from OPMAS_ADMIN_PASSWORD) or announces a setup token. */
    async init(): Promise<void> {
      for (const [name, role] of Object.entries(BUILTIN_ROLES)) {
        await rolesRepo(db.knex).upsertBuiltin(name, role.description, role.permissions);
      }
      cache.invalidateRoles();
      await revokedAccessTokensRepo(db.knex).prune();
      await revokedSessionsRepo(db.knex).prune();
      if ((await passwordUsers()) > 0) {
        await setupTokensRepo(db.knex).clear();
        return;
      }
      if (settings.adminPassword) {
        await createUser(usersRepo(db.knex), 'admin', settings.adminPassword, 'admin');
        logger.info({ username: 'admin' }, 'created the first admin from OPMAS_ADMIN_PASSWORD');
        return;
      }
      // Kept in the database: behind a load balancer the setup request may reach another replica.
      const token = newOpaqueToken('ost');
      await setupTokensRepo(db.knex).add(hashToken(token));
      setupPendingCache = undefined;
      announce(`opmas-ams: no users yet; open the console and paste this one-time setup token: ${token}`, { setupToken: token });
    },

    /** Resolves `Authorization: Bearer ...` into a principal; undefined without a header. */
    async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
      if (!authorization) return undefined;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw new InvalidToken('the Authorization header must be "Bearer <token>"');
      const token = match[1];
      return token.startsWith('oat_') ? fromApiToken(token) : fromJwt(token);
    },

    async login(username: string, password: string): Promise<TokenPair> {
      const user = await usersRepo(db.knex).byUsername(username);
      const hash = user?.password_hash ?? (await (decoyHash ??= hashPassword(randomUUID())));
      const ok = await argonVerify(hash, password).catch(() => false);
      if (!user || !user.password_hash || !ok || user.disabled) {
        throw new Unauthenticated('invalid_credentials', 'Unknown username or wrong password');
      }
      return issue(user);
    },

    /** `onUser` hears whose session it is before the new pair is issued (the audit row names them). */
    async refresh(refreshToken: string, onUser?: (user: UserRow) => void): Promise<TokenPair> {
      const outcome = await db.knex.transaction(async (trx) => {
        const repo = refreshTokensRepo(trx);
        const row = await repo.byHashForUpdate(hashToken(refreshToken));
        if (!row) return { error: new InvalidToken('unknown refresh token') };
        if (row.used_at || row.revoked_at) {
          // A rotated (or revoked) token presented again: someone else has a copy. Revoke the
          // family: its refresh tokens and every access token issued from it.
          const until = await revokeSession(trx, row.family_id, 'refresh_token_reused');
          return { error: new InvalidToken('refresh token reuse detected; every session of this login has been revoked'), reused: { familyId: row.family_id, until } };
        }
        if (row.expires_at.getTime() <= Date.now()) return { error: new InvalidToken('the refresh token has expired') };
        await repo.markUsed(row.id);
        return { row };
      });
      if ('error' in outcome && outcome.error) {
        if (outcome.reused) cache.markSessionRevoked(outcome.reused.familyId, outcome.reused.until);
        if (outcome.reused) throw new AmsError(401, 'refresh_token_reused', outcome.error.message, undefined, { 'WWW-Authenticate': 'Bearer realm="opmas"' });
        throw outcome.error;
      }
      const user = await usersRepo(db.knex).byId(outcome.row!.user_id);
      if (!user || user.disabled) throw new InvalidToken('its user no longer exists or is disabled');
      onUser?.(user);
      return issue(user, outcome.row!.family_id);
    },

    /** Revokes the current access token, its login (every token of its family) and the refresh token's family. */
    async logout(principal: Principal | undefined, refreshToken: string | undefined): Promise<void> {
      if (principal?.jti && principal.exp) {
        await revokedAccessTokensRepo(db.knex).add(principal.jti, new Date(principal.exp * 1000));
        cache.markRevoked(principal.jti, principal.exp * 1000);
      }
      // Each login's refresh tokens and its revocation record are written together: a crash in
      // between leaves neither, and the client's retry of the logout does it all again.
      const revoke = async (familyId: string) => cache.markSessionRevoked(familyId, await db.knex.transaction((trx) => revokeSession(trx, familyId, 'logout')));
      if (principal?.sid) await revoke(principal.sid);
      if (refreshToken) {
        const row = await refreshTokensRepo(db.knex).byHash(hashToken(refreshToken));
        if (row && (!principal || principal.type !== 'user' || row.user_id === principal.id) && row.family_id !== principal?.sid) await revoke(row.family_id);
      }
    },

    async setup(token: string, username: string, password: string): Promise<{ user: UserRow; tokens: TokenPair }> {
      const user = await db.knex.transaction(async (trx) => {
        await trx.raw('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
        const n = Number((await trx('users').whereNot('username', HOST_USER).count('* as n').first())?.n ?? 0);
        if (n > 0) throw new Forbidden('Setup is not available: an admin already exists', undefined, 'setup_not_available');
        const tokens = setupTokensRepo(trx);
        if (!(await tokens.any())) throw new Forbidden('Setup is not available: this AMS has no setup token (OPMAS_ADMIN_PASSWORD made the admin)', undefined, 'setup_not_available');
        if (!(await tokens.exists(hashToken(token)))) throw new Unauthenticated('invalid_setup_token', 'The setup token is not valid');
        const created = await createUser(usersRepo(trx), username, password, 'admin');
        await tokens.clear();
        return created;
      });
      setupPendingCache = undefined;
      return { user, tokens: await issue(user) };
    },

    /** The desktop app's host mode: the per-launch secret buys an admin session without a password. */
    async hostSession(secret: string): Promise<TokenPair> {
      if (!settings.hostSecret) throw new Forbidden('Host sessions are not enabled on this AMS', undefined, 'host_session_disabled');
      if (!sameSecret(secret, settings.hostSecret)) throw new Unauthenticated('invalid_host_secret', 'The host secret is not valid');
      const users = usersRepo(db.knex);
      const user = (await users.byUsername(HOST_USER)) ?? (await createUser(users, HOST_USER, null, 'admin').catch(async () => (await users.byUsername(HOST_USER))!));
      return issue(user);
    },

    /** Whether the AMS waits for its first admin (any replica's setup token still valid); read at most every 2 s. */
    async setupPending(): Promise<boolean> {
      if (setupPendingCache && Date.now() - setupPendingCache.at < 2000) return setupPendingCache.value;
      const at = Date.now();
      const value = (await passwordUsers()) === 0 && (await setupTokensRepo(db.knex).any());
      setupPendingCache = { value, at };
      return value;
    },
    principalOfUser,
  };
}
