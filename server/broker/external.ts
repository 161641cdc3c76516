// Attach/external mode: the AMS reaches a NATS server it does not run. It reads its own user's
// `.creds`, the account signing key it issues agent users with, and TLS files from the
// environment. Revocation needs the account JWT re-signed by the operator, which the AMS can only
// do when it is also given an operator signing key and a system-account user (see
// pushRevocations); otherwise revocations are recorded locally and reported as not applied.
import fs from 'node:fs';
import { decode, encodeAccount, type Account, type User } from '@nats-io/jwt';
import type { KeyPair } from '@nats-io/nkeys';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { BrokerSettingsInvalid } from './errors.js';
import { parseSeed, readSeedFile } from './key-store.js';
import type { RevocationOutcome } from './credentials.js';
import type { BrokerTlsOptions } from './connection.js';

/** Environment variables of external mode that hold or point to secrets: never pass them to agents. */
export const EXTERNAL_SECRET_ENV = [
  'OPMAS_NATS_CREDS',
  'OPMAS_NATS_ACCOUNT_SEED',
  'OPMAS_NATS_ACCOUNT_SEED_FILE',
  'OPMAS_NATS_SYSTEM_CREDS',
  'OPMAS_NATS_OPERATOR_SEED',
  'OPMAS_NATS_OPERATOR_SEED_FILE',
  'OPMAS_NATS_TLS_KEY',
] as const;

export interface ExternalBrokerSettings {
  servers: string[];
  /** The AMS user's `.creds` body. */
  amsCreds: string;
  accountPublicKey: string;
  /** Signs agent users: the account key or one of its signing keys. */
  accountSigningKey: KeyPair;
  tls?: BrokerTlsOptions;
  /** For revocation: a system-account user's `.creds` body and an operator (signing) key. */
  systemCreds?: string;
  operatorSigningKey?: KeyPair;
}

const URL_PATTERN = /^(nats|tls|ws|wss):\/\/[^\s,]+$/;

/** Reads and checks external mode's settings; BrokerSettingsInvalid names what is missing or wrong. */
export function readExternalSettings(env: NodeJS.ProcessEnv): ExternalBrokerSettings {
  const servers = (env.OPMAS_NATS_URL ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new BrokerSettingsInvalid('external broker mode needs OPMAS_NATS_URL');
  const badUrl = servers.find((s) => !URL_PATTERN.test(s));
  if (badUrl) throw new BrokerSettingsInvalid(`OPMAS_NATS_URL must be nats://, tls://, ws:// or wss:// URLs separated by commas; got ${JSON.stringify(badUrl)}`);

  if (!env.OPMAS_NATS_CREDS) throw new BrokerSettingsInvalid("external broker mode needs OPMAS_NATS_CREDS: the path of the AMS user's .creds file");
  const amsCreds = readTextFile(env.OPMAS_NATS_CREDS, 'OPMAS_NATS_CREDS');
  const amsJwt = /-----BEGIN NATS USER JWT-----\s*([^\s-][^\s]*)\s*------END NATS USER JWT------/.exec(amsCreds)?.[1];
  if (!amsJwt) throw new BrokerSettingsInvalid('OPMAS_NATS_CREDS does not hold a NATS user JWT block');
  let amsClaims;
  try {
    amsClaims = decode<User>(amsJwt);
  } catch {
    throw new BrokerSettingsInvalid('OPMAS_NATS_CREDS holds a user JWT that does not verify');
  }

  const accountSigningKey = env.OPMAS_NATS_ACCOUNT_SEED
    ? parseSeed(env.OPMAS_NATS_ACCOUNT_SEED, 'OPMAS_NATS_ACCOUNT_SEED', 'SA')
    : env.OPMAS_NATS_ACCOUNT_SEED_FILE
      ? readSeedFile(env.OPMAS_NATS_ACCOUNT_SEED_FILE, 'SA')
      : undefined;
  if (!accountSigningKey) {
    throw new BrokerSettingsInvalid('external broker mode needs OPMAS_NATS_ACCOUNT_SEED or OPMAS_NATS_ACCOUNT_SEED_FILE: the account key agent users are signed with');
  }
  // The account is the one the AMS user belongs to, unless named explicitly.
  const accountPublicKey = env.OPMAS_NATS_ACCOUNT || amsClaims.nats?.issuer_account || amsClaims.iss;
  if (!/^A[A-Z2-7]{55}$/.test(accountPublicKey)) throw new BrokerSettingsInvalid('OPMAS_NATS_ACCOUNT must be an account public key (A...)');

  const tls: BrokerTlsOptions = { caFile: env.OPMAS_NATS_TLS_CA || undefined, certFile: env.OPMAS_NATS_TLS_CERT || undefined, keyFile: env.OPMAS_NATS_TLS_KEY || undefined };
  for (const [name, file] of [['OPMAS_NATS_TLS_CA', tls.caFile], ['OPMAS_NATS_TLS_CERT', tls.certFile], ['OPMAS_NATS_TLS_KEY', tls.keyFile]] as const) {
    if (file && !fs.existsSync(file)) throw new BrokerSettingsInvalid(`${name} points to ${file}, which does not exist`);
  }
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) throw new BrokerSettingsInvalid('OPMAS_NATS_TLS_CERT and OPMAS_NATS_TLS_KEY go together');

  const systemCreds = env.OPMAS_NATS_SYSTEM_CREDS ? readTextFile(env.OPMAS_NATS_SYSTEM_CREDS, 'OPMAS_NATS_SYSTEM_CREDS') : undefined;
  const operatorSigningKey = env.OPMAS_NATS_OPERATOR_SEED
    ? parseSeed(env.OPMAS_NATS_OPERATOR_SEED, 'OPMAS_NATS_OPERATOR_SEED', 'SO')
    : env.OPMAS_NATS_OPERATOR_SEED_FILE
      ? readSeedFile(env.OPMAS_NATS_OPERATOR_SEED_FILE, 'SO')
      : undefined;

  return {
    servers,
    amsCreds,
    accountPublicKey,
    accountSigningKey,
    tls: Object.values(tls).some(Boolean) ? tls : undefined,
    systemCreds,
    operatorSigningKey,
  };
}

function readTextFile(file: string, name: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new BrokerSettingsInvalid(`${name} points to ${file}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Applies revocations on an external broker: looks up the account's current JWT through the
 * system account (`$SYS.REQ.ACCOUNT.<id>.CLAIMS.LOOKUP`), adds the revocations it lacks (those it
 * has keep their time, so pushing a list again changes nothing), re-signs it with
 * the operator signing key and publishes it to `$SYS.REQ.CLAIMS.UPDATE`. This works with the
 * `full`/`cache` (NATS-based) account resolvers; a MEMORY resolver or an account server that is
 * managed elsewhere (nsc, a URL resolver) has to be updated there, and the outcome says so.
 */
export async function pushRevocations(settings: ExternalBrokerSettings, revocations: Record<string, number>): Promise<RevocationOutcome> {
  if (!settings.systemCreds || !settings.operatorSigningKey) {
    return {
      applied: false,
      detail:
        'recorded, not applied: external mode needs OPMAS_NATS_SYSTEM_CREDS and OPMAS_NATS_OPERATOR_SEED(_FILE) to update the account JWT; ' +
        'until then revoke the user with nsc (nsc revocations add-user) and push the account',
    };
  }
  let nc;
  try {
    nc = await connect({
      servers: settings.servers,
      authenticator: credsAuthenticator(new TextEncoder().encode(settings.systemCreds)),
      tls: settings.tls ? { ...settings.tls } : undefined,
      name: 'opmas-ams-revocation',
      timeout: 5000,
      reconnect: false,
    });
    const account = settings.accountPublicKey;
    const lookup = await nc.request(`$SYS.REQ.ACCOUNT.${account}.CLAIMS.LOOKUP`, '', { timeout: 5000 });
    const current = decode<Account>(lookup.string().trim());
    const claims: Partial<Account> = { ...current.nats, revocations: { ...revocations, ...(current.nats.revocations ?? {}) } };
    delete (claims as { type?: unknown }).type;
    delete (claims as { version?: unknown }).version;
    const jwt = await encodeAccount(current.name, account, claims, { signer: settings.operatorSigningKey, ...(current.exp ? { exp: current.exp } : {}) });
    const reply = await nc.request('$SYS.REQ.CLAIMS.UPDATE', jwt, { timeout: 5000 });
    const body = JSON.parse(reply.string()) as { error?: { description?: string }; data?: { message?: string } };
    if (body.error) return { applied: false, detail: `the account server refused the update: ${body.error.description ?? 'unknown error'}` };
    return { applied: true, detail: body.data?.message ?? 'account JWT updated' };
  } catch (err) {
    return { applied: false, detail: `recorded, not applied: ${(err as Error).message}` };
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

/** What a `--role supervisor` process needs to reach NATS: the URLs, its own user's creds, TLS files. */
export function readSupervisorNatsSettings(env: NodeJS.ProcessEnv): { servers: string[]; creds: string; tls?: BrokerTlsOptions } {
  const servers = (env.OPMAS_NATS_URL ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new BrokerSettingsInvalid('--role supervisor needs OPMAS_NATS_URL: the NATS server URL(s) of the cluster');
  const badUrl = servers.find((s) => !URL_PATTERN.test(s));
  if (badUrl) throw new BrokerSettingsInvalid(`OPMAS_NATS_URL must be nats://, tls://, ws:// or wss:// URLs separated by commas; got ${JSON.stringify(badUrl)}`);
  if (!env.OPMAS_NATS_CREDS) throw new BrokerSettingsInvalid("--role supervisor needs OPMAS_NATS_CREDS: the path of this host's supervisor user .creds file");
  const creds = readTextFile(env.OPMAS_NATS_CREDS, 'OPMAS_NATS_CREDS');
  const tls: BrokerTlsOptions = { caFile: env.OPMAS_NATS_TLS_CA || undefined, certFile: env.OPMAS_NATS_TLS_CERT || undefined, keyFile: env.OPMAS_NATS_TLS_KEY || undefined };
  return { servers, creds, tls: Object.values(tls).some(Boolean) ? tls : undefined };
}
