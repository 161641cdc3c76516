// An "external" nats-server as a production cluster runs one: its own operator and accounts
// (JWTs, a `full` account resolver), in a folder the AMS never sees, and the environment its
// operator hands the AMS (AMS user creds, the account key, a system user and the operator key
// for revocations). Also reads the account JWT's revocation list back, as the broker has it.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { decode, encodeAccount, encodeUser, type Account } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createCredentialIssuer, createHostAuthConfig, formatCreds } from '../../server/broker/credentials.js';
import { loadOrCreateHostKeys, natsDir } from '../../server/broker/key-store.js';
import { createNatsServer, type NatsServerHandle } from '../../server/broker/nats-server.js';

export interface ExternalNats {
  server: NatsServerHandle;
  /** OPMAS_NATS_* for an AMS attaching to it, revocation included. */
  env: Record<string, string>;
  accountPublicKey: string;
  /** The account JWT's revocations as the server resolves them now. */
  revocations(): Promise<Record<string, number>>;
  /** Replaces the account JWT's revocations (a stale writer, or an operator with nsc). */
  overwriteRevocations(list: Record<string, number>): Promise<void>;
  stop(): Promise<void>;
}

export async function startExternalNats(work: string, logger: Logger, extra: { tls?: { certFile: string; keyFile: string } } = {}): Promise<ExternalNats> {
  const clusterDir = path.join(work, 'cluster');
  const keys = loadOrCreateHostKeys(natsDir(clusterDir));
  const auth = createHostAuthConfig(keys);
  const server = createNatsServer({ dataDir: clusterDir, logger, auth: () => auth({}), resolver: { type: 'full', dir: path.join(clusterDir, 'jwt') }, ...(extra.tls ? { tls: extra.tls } : {}) });
  await server.start();

  const secrets = path.join(work, 'secrets');
  fs.mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const write = (name: string, text: string) => {
    const file = path.join(secrets, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const ams = await createCredentialIssuer({
    accountPublicKey: keys.account.getPublicKey(),
    signingKey: keys.account,
    revocations: { list: () => ({}), add: () => undefined },
    applyRevocations: async () => ({ applied: false, detail: '' }),
  }).issueAms();
  const sysUser = createUser();
  const sysJwt = await encodeUser('sys', sysUser, keys.systemAccount, {});
  const sysCreds = formatCreds(sysJwt, sysUser);
  const env = {
    OPMAS_NATS_URL: server.url()!,
    OPMAS_NATS_CREDS: write('ams.creds', ams.creds),
    OPMAS_NATS_ACCOUNT_SEED_FILE: path.join(clusterDir, 'nats', 'account.nk'),
    OPMAS_NATS_SYSTEM_CREDS: write('sys.creds', sysCreds),
    OPMAS_NATS_OPERATOR_SEED_FILE: path.join(clusterDir, 'nats', 'operator.nk'),
  };
  const accountPublicKey = keys.account.getPublicKey();
  const system = async <T>(fn: (nc: NatsConnection) => Promise<T>): Promise<T> => {
    const nc = await connect({ servers: server.url()!, authenticator: credsAuthenticator(new TextEncoder().encode(sysCreds)), reconnect: false });
    try {
      return await fn(nc);
    } finally {
      await nc.close();
    }
  };
  const lookup = async (nc: NatsConnection) => decode<Account>((await nc.request(`$SYS.REQ.ACCOUNT.${accountPublicKey}.CLAIMS.LOOKUP`, '', { timeout: 5000 })).string().trim());
  return {
    server,
    env,
    accountPublicKey,
    async revocations() {
      return (await system((nc) => lookup(nc))).nats.revocations ?? {};
    },
    async overwriteRevocations(list) {
      await system(async (nc) => {
        const current = await lookup(nc);
        const claims: Partial<Account> = { ...current.nats, revocations: list };
        delete (claims as { type?: unknown }).type;
        delete (claims as { version?: unknown }).version;
        // A newer issue time than the JWT it replaces, or the resolver keeps the old one.
        await new Promise((r) => setTimeout(r, 1100));
        const jwt = await encodeAccount(current.name, keys.account, claims, { signer: keys.operator });
        const reply = JSON.parse((await nc.request('$SYS.REQ.CLAIMS.UPDATE', jwt, { timeout: 5000 })).string()) as { error?: { description?: string } };
        if (reply.error) throw new Error(`claims update refused: ${reply.error.description}`);
      });
    },
    stop: () => server.stop(),
  };
}
