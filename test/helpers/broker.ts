// A real nats-server per suite through the host-mode broker module, plus small helpers to
// connect as a given user and to wait for conditions with a deadline (never a fixed sleep).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { connect, credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { createLogger } from '../../server/logger.js';
import { startBroker, type Broker, type StartBrokerOptions } from '../../server/broker/index.js';

export interface TestBroker {
  broker: Broker;
  dataDir: string;
  url: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startTestBroker(opts: Partial<StartBrokerOptions> = {}): Promise<TestBroker> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-broker-'));
  const logFile = path.join(dataDir, 'ams.log');
  const logger = opts.logger ?? createLogger('debug', pino.destination({ dest: logFile, sync: true }));
  const broker = await startBroker({
    dataDir,
    logger,
    env: { PATH: process.env.PATH },
    mode: 'host',
    restartPolicy: { initialDelayMs: 200, maxDelayMs: 2000 },
    reconnectPolicy: { initialDelayMs: 50, maxDelayMs: 500 },
    ...opts,
  });
  if (!broker.url) throw new Error(`the broker did not start; see ${logFile}`);
  return {
    broker,
    dataDir,
    url: broker.url,
    logFile,
    async stop() {
      await broker.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A client connection with a `.creds` body, as an agent or a tool would open it. */
export function connectWithCreds(url: string, creds: string, extra: Partial<NodeConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({ servers: url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), timeout: 5000, ...extra });
}

/** Polls `check` until it returns a truthy value or the deadline passes; returns that value. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The text of the file, or '' when it does not exist. */
export function readLog(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
