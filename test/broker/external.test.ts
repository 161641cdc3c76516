// Attach/external mode against a nats-server the AMS does not run (started here with a `full`
// account resolver, as a production cluster has): settings from the environment, agent users
// signed with the given account key, revocation pushed as an account claims update, and TLS
// with a private CA for the AMS and for agents.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors as natsErrors } from '@nats-io/transport-node';
import { startBroker, type Broker } from '../../server/broker/index.js';
import { createHostAuthConfig } from '../../server/broker/credentials.js';
import { readExternalSettings } from '../../server/broker/external.js';
import { loadOrCreateHostKeys, natsDir } from '../../server/broker/key-store.js';
import { createNatsServer, type NatsServerHandle } from '../../server/broker/nats-server.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { subjects } from '../../server/broker/subjects.js';
import { createLogger } from '../../server/logger.js';
import { connectWithCreds, readLog, waitFor } from '../helpers/broker.js';
import { startExternalNats, type ExternalNats } from '../helpers/external-nats.js';
import { SAMPLE_AGENTS, killAllAgents, spawnAgent } from '../helpers/agents.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-external-'));
const logFile = path.join(work, 'ams.log');
const logger = createLogger('debug', pino.destination({ dest: logFile, sync: true }));
let external: ExternalNats;
let server: NatsServerHandle;
let tlsServer: NatsServerHandle;
let env: Record<string, string>;
let tlsEnv: Record<string, string>;
const brokers: Broker[] = [];

beforeAll(async () => {
  // The "external" cluster: its own operator and accounts, in a folder the AMS never sees, and
  // what its operator hands the AMS: a user, the account key, and for revocation a system user and the operator key.
  external = await startExternalNats(work, logger);
  server = external.server;
  env = external.env;
  const clusterDir = path.join(work, 'cluster');
  const auth = createHostAuthConfig(loadOrCreateHostKeys(natsDir(clusterDir)));
  // The same cluster's accounts behind TLS with a private CA.
  const pki = path.join(work, 'pki');
  makeCertificates(pki);
  const tlsDir = path.join(work, 'cluster-tls');
  fs.mkdirSync(path.join(tlsDir, 'nats'), { recursive: true, mode: 0o700 });
  for (const f of ['operator.nk', 'system-account.nk', 'account.nk']) fs.copyFileSync(path.join(clusterDir, 'nats', f), path.join(tlsDir, 'nats', f));
  tlsServer = createNatsServer({
    dataDir: tlsDir,
    logger,
    auth: () => auth({}),
    resolver: { type: 'full', dir: path.join(tlsDir, 'jwt') },
    tls: { certFile: path.join(pki, 'server.pem'), keyFile: path.join(pki, 'server.key') },
  });
  await tlsServer.start();

  tlsEnv = { ...env, OPMAS_NATS_URL: tlsServer.url()!.replace('nats://', 'tls://'), OPMAS_NATS_TLS_CA: path.join(pki, 'ca.pem') };
});

/** A throwaway CA and a server certificate for 127.0.0.1 (openssl, as on any Debian machine). */
function makeCertificates(dir: string): void {
  fs.mkdirSync(dir, { mode: 0o700 });
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=opmas-test-ca');
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
}

afterAll(async () => {
  await killAllAgents();
  for (const b of brokers) await b.stop();
  await server?.stop();
  await tlsServer?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function attach(extraEnv: Record<string, string | undefined> = {}, base = env, connectTimeoutMs?: number) {
  const dataDir = fs.mkdtempSync(path.join(work, 'ams-'));
  const broker = await startBroker({ dataDir, logger, env: { ...base, ...extraEnv }, connectTimeoutMs });
  brokers.push(broker);
  return { broker, dataDir };
}

describe('external broker mode', () => {
  it('attaches with the AMS user and issues agent users that work and are scoped', async () => {
    const { broker } = await attach();
    expect(broker.mode).toBe('external');
    expect(broker.server).toBeUndefined();
    expect(broker.connection.status()).toBe('connected');
    expect(await broker.health()).toMatchObject({ status: 'ok', mode: 'external', connection: 'connected', url: env.OPMAS_NATS_URL });

    const id = newAgentId('security');
    const creds = await broker.issuer.issueAgent({ agentId: id, subscribedTopics: ['logs.auth'] });
    const nc = await connectWithCreds(broker.url!, creds.creds);
    const got: string[] = [];
    broker.connection.subscribe(subjects.everyAgent.heartbeat, (m) => got.push(m.subject));
    await broker.connection.raw()!.flush();
    nc.publish(subjects.agent(id).heartbeat, '{}');
    await waitFor(() => got.includes(subjects.agent(id).heartbeat), 'the heartbeat');
    const denied = nc.subscribe(subjects.agent(newAgentId('security')).control);
    expect(await denied.closed).toBeInstanceOf(natsErrors.PermissionViolationError);
    await nc.close();
  });

  it('revokes a user by pushing the updated account JWT, which drops its connection', async () => {
    const { broker } = await attach();
    const creds = await broker.issuer.issueAgent({ agentId: newAgentId('security') });
    const nc = await connectWithCreds(broker.url!, creds.creds);
    const closed = nc.closed();
    const outcome = await broker.issuer.revoke(creds.publicKey);
    expect(outcome, outcome.detail).toMatchObject({ applied: true });
    expect(await closed).toBeInstanceOf(natsErrors.AuthorizationError);
    await expect(connectWithCreds(broker.url!, creds.creds, { reconnect: false })).rejects.toBeInstanceOf(natsErrors.AuthorizationError);
    // The AMS itself is still connected.
    expect(broker.connection.status()).toBe('connected');
    await broker.connection.latency();
  });

  it('says plainly that a revocation is not applied without the operator key and a system user', async () => {
    const { broker } = await attach({ OPMAS_NATS_SYSTEM_CREDS: undefined, OPMAS_NATS_OPERATOR_SEED_FILE: undefined });
    const creds = await broker.issuer.issueAgent({ agentId: newAgentId('security') });
    const outcome = await broker.issuer.revoke(creds.publicKey);
    expect(outcome.applied).toBe(false);
    expect(outcome.detail).toMatch(/OPMAS_NATS_SYSTEM_CREDS and OPMAS_NATS_OPERATOR_SEED/);
    const nc = await connectWithCreds(broker.url!, creds.creds);
    await nc.close();
  });

  it('refuses settings that cannot work, naming the variable, and never echoes a seed', () => {
    expect(() => readExternalSettings({ ...env, OPMAS_NATS_CREDS: '' })).toThrow(/OPMAS_NATS_CREDS/);
    expect(() => readExternalSettings({ ...env, OPMAS_NATS_ACCOUNT_SEED_FILE: '' })).toThrow(/OPMAS_NATS_ACCOUNT_SEED/);
    expect(() => readExternalSettings({ ...env, OPMAS_NATS_URL: 'http://x' })).toThrow(/OPMAS_NATS_URL/);
    expect(() => readExternalSettings({ ...env, OPMAS_NATS_TLS_CA: path.join(work, 'missing-ca.pem') })).toThrow(/OPMAS_NATS_TLS_CA/);
    expect(() => readExternalSettings({ ...env, OPMAS_NATS_TLS_CERT: env.OPMAS_NATS_CREDS })).toThrow(/go together/);
    const operatorSeed = fs.readFileSync(env.OPMAS_NATS_OPERATOR_SEED_FILE, 'utf8').trim();
    // An operator seed where the account seed belongs: refused without quoting it.
    try {
      readExternalSettings({ ...env, OPMAS_NATS_ACCOUNT_SEED_FILE: '', OPMAS_NATS_ACCOUNT_SEED: operatorSeed });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/wrong kind of nkey seed/);
      expect((err as Error).message).not.toContain(operatorSeed);
    }
    const settings = readExternalSettings({ ...env, OPMAS_NATS_TLS_CA: env.OPMAS_NATS_CREDS });
    expect(settings.tls).toEqual({ caFile: env.OPMAS_NATS_CREDS, certFile: undefined, keyFile: undefined });
  });

  it('connects over TLS with the CA from OPMAS_NATS_TLS_CA, and so do agents', async () => {
    const { broker, dataDir } = await attach({}, tlsEnv);
    expect(broker.connection.status()).toBe('connected');
    expect(broker.connection.raw()!.info!.tls_required).toBe(true);
    expect(await broker.health()).toMatchObject({ status: 'ok', url: tlsEnv.OPMAS_NATS_URL });

    const heartbeats: string[] = [];
    broker.connection.subscribe(subjects.everyAgent.heartbeat, (m) => heartbeats.push(m.subject));
    const agent = await spawnAgent({ broker, dataDir, url: tlsEnv.OPMAS_NATS_URL, logFile, stop: async () => undefined }, path.join(SAMPLE_AGENTS, 'security'), {
      env: { OPMAS_NATS_TLS_CA: tlsEnv.OPMAS_NATS_TLS_CA },
    });
    await waitFor(() => heartbeats.includes(subjects.agent(agent.agentId).heartbeat), `the agent's heartbeat over TLS (stderr: ${agent.stderr()})`);
  });

  it('does not connect over TLS to a server its CA does not vouch for, and says why', async () => {
    const { broker } = await attach({ OPMAS_NATS_TLS_CA: undefined }, tlsEnv, 1500);
    expect(broker.connection.status()).not.toBe('connected');
    const health = await broker.health();
    expect(health.status).toBe('down');
    expect(health.error).toMatch(/certificate/i);
  });

  it('never logs the secrets it was given', () => {
    const log = readLog(logFile);
    for (const file of [env.OPMAS_NATS_CREDS, env.OPMAS_NATS_SYSTEM_CREDS, env.OPMAS_NATS_ACCOUNT_SEED_FILE, env.OPMAS_NATS_OPERATOR_SEED_FILE]) {
      for (const secret of fs.readFileSync(file, 'utf8').match(/\bS[A-Z][A-Z2-7]{50,}\b|eyJ[\w-]+\.[\w-]+\.[\w-]+/g) ?? []) {
        expect(log).not.toContain(secret);
      }
    }
  });
});
