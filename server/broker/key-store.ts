// The host-mode trust chain on disk: operator, system account and application account keys
// under `<dataDir>/nats/`, created on first start. Seed files are 0600 in a 0700 folder and are
// read here only; nothing in this module logs a seed or a key file's contents.
import fs from 'node:fs';
import path from 'node:path';
import { createAccount, createOperator, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { BrokerSettingsInvalid } from './errors.js';

export interface HostKeys {
  operator: KeyPair;
  systemAccount: KeyPair;
  account: KeyPair;
}

const FILES = { operator: 'operator.nk', systemAccount: 'system-account.nk', account: 'account.nk' } as const;
const PREFIX = { operator: 'SO', systemAccount: 'SA', account: 'SA' } as const;

/** `<dataDir>/nats`, created 0700 when missing. */
export function natsDir(dataDir: string): string {
  const dir = path.join(dataDir, 'nats');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Loads the three host keys, creating any that do not exist yet. */
export function loadOrCreateHostKeys(dir: string): HostKeys {
  const load = (name: keyof typeof FILES, create: () => KeyPair): KeyPair => {
    const file = path.join(dir, FILES[name]);
    if (fs.existsSync(file)) return readSeedFile(file, PREFIX[name]);
    const kp = create();
    writeSecretFile(file, `${new TextDecoder().decode(kp.getSeed())}\n`);
    return kp;
  };
  return {
    operator: load('operator', createOperator),
    systemAccount: load('systemAccount', createAccount),
    account: load('account', createAccount),
  };
}

/**
 * Reads an nkey seed from a file (the seed alone, or the seed block of a `.creds` file). A file
 * that others can read is tightened to 0600 first: a leaked seed is a leaked identity.
 */
export function readSeedFile(file: string, expectedPrefix?: string): KeyPair {
  let text: string;
  try {
    if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new BrokerSettingsInvalid(`cannot read the key file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseSeed(text, `the key file ${file}`, expectedPrefix);
}

/** A key pair from seed text; `where` names the source in errors (never the text itself). */
export function parseSeed(text: string, where: string, expectedPrefix?: string): KeyPair {
  const seed = /\bS[A-Z][A-Z2-7]{50,}\b/.exec(text)?.[0];
  if (!seed) throw new BrokerSettingsInvalid(`${where} holds no nkey seed`);
  if (expectedPrefix && !seed.startsWith(expectedPrefix)) {
    throw new BrokerSettingsInvalid(`${where} holds the wrong kind of nkey seed (expected one starting with ${expectedPrefix})`);
  }
  try {
    return fromSeed(new TextEncoder().encode(seed));
  } catch {
    throw new BrokerSettingsInvalid(`${where} holds an invalid nkey seed`);
  }
}

/** Writes a file readable by its owner only, replacing it atomically. */
export function writeSecretFile(file: string, contents: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
