// Random secrets, their hashes and the JWT signing key. Opaque tokens carry a prefix that
// says what they are (`ort_` refresh, `oat_` API, `ost_` setup, `odt_` discovery) and are stored as SHA-256.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type TokenKind = 'ort' | 'oat' | 'ost' | 'odt';

export function newOpaqueToken(kind: TokenKind): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/**
 * The HS256 key: OPMAS_JWT_SECRET when set (required when several AMS replicas share a
 * database), else a random key kept in `<dataDir>/secrets/jwt.key` (0600).
 */
export function loadSigningKey(dataDir: string, fromEnv: string | undefined): Uint8Array {
  if (fromEnv) {
    if (Buffer.byteLength(fromEnv) < 32) throw new Error('OPMAS_JWT_SECRET must be at least 32 bytes');
    return new Uint8Array(Buffer.from(fromEnv));
  }
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, 'jwt.key');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(64);
  fs.writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
  return new Uint8Array(key);
}
