// Starts the real AMS in-process on a fresh database (PGlite or PostgreSQL per
// OPMAS_TEST_DB), signed in as an admin, with small HTTP clients for the tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import pino from 'pino';
import { startAms, type RunningAms } from '../../server/ams.js';
import { createLogger } from '../../server/logger.js';
import { type AmsSecrets, type AmsSettings, parseSettings } from '../../server/settings.js';
import { freshDatabase, type FreshDb } from './test-db.js';
import { logFile, recordSecret } from './secrets.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiClient {
  get<T = any>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  put<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  delete<T = any>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  raw(path: string, init: RequestInit): Promise<ApiResponse>;
}

/** A JSON client; `token` (a string or a getter) becomes the bearer token of every request. */
export function apiClient(baseUrl: string, token?: string | (() => string | undefined)): ApiClient {
  const bearer = () => (typeof token === 'function' ? token() : token);
  const raw = async (p: string, init: RequestInit): Promise<ApiResponse> => {
    const auth = bearer();
    const res = await fetch(new URL(p, baseUrl), {
      ...init,
      headers: { ...(auth ? { Authorization: `Bearer ${auth}` } : {}), ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
    return { status: res.status, body, headers: res.headers };
  };
  const json = (method: string) => (p: string, body?: unknown, headers: Record<string, string> = {}) =>
    raw(p, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    get: (p, headers = {}) => raw(p, { method: 'GET', headers }),
    post: json('POST'),
    put: json('PUT'),
    delete: (p, headers = {}) => raw(p, { method: 'DELETE', headers }),
    raw,
  };
}

export interface Session {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** Logs in and records the tokens as secrets the logs must never contain. */
export async function login(baseUrl: string, username: string, password: string): Promise<Session> {
  const res = await apiClient(baseUrl).post('/api/v1/auth/login', { username, password });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  recordSecret(res.body.access_token, res.body.refresh_token);
  return res.body;
}

export const ADMIN = 'admin';

export interface TestAms {
  url: string;
  /** Signed in as the admin. */
  api: ApiClient;
  /** No credentials. */
  anon: ApiClient;
  adminPassword: string;
  dataDir: string;
  ams: RunningAms;
  dbUrl?: string;
  logPath: string;
  /** Creates a user with `role` (bound to `agentId` for the agent role) and answers a client signed in as it. */
  userWith(role: string, agentId?: string): Promise<{ api: ApiClient; username: string; password: string; session: Session; id: string }>;
  /** Stops and starts the AMS again on the same data dir and database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestAmsOptions {
  env?: NodeJS.ProcessEnv;
  settings?: Partial<AmsSettings>;
  secrets?: AmsSecrets;
  /** Collects what the AMS announces (the setup token) instead of printing it. */
  announce?: (line: string, facts?: { setupToken?: string }) => void;
  /** Start without an admin (no OPMAS_ADMIN_PASSWORD). */
  noAdmin?: boolean;
}

export function testPassword(): string {
  const password = `pw-${randomBytes(12).toString('base64url')}`;
  recordSecret(password);
  return password;
}

export async function startTestAms(opts: TestAmsOptions = {}): Promise<TestAms> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-test-'));
  const db: FreshDb = await freshDatabase(dataDir, inject('dbTemplate'));
  const settings: AmsSettings = {
    ...parseSettings(['--port', '0', '--data-dir', dataDir], {}),
    dbUrl: db.dbUrl,
    rateLimitPerMinute: 1_000_000,
    loginRateLimitPerMinute: 10_000,
    ...opts.settings,
  };
  const adminPassword = testPassword();
  const secrets: AmsSecrets = { ...(opts.noAdmin ? {} : { adminPassword }), ...opts.secrets };
  recordSecret(secrets.hostSecret, secrets.jwtSecret);
  const logPath = logFile('ams');
  const logger = createLogger('debug', pino.destination({ dest: logPath, sync: true }));
  const start = () => startAms(settings, { logger, env: opts.env ?? {}, secrets, drainTimeoutMs: 2000, announce: opts.announce ?? (() => undefined) });
  let ams = await start();
  let session: Session | undefined = opts.noAdmin ? undefined : await login(ams.url, ADMIN, adminPassword);
  const handle: TestAms = {
    url: ams.url,
    dataDir,
    ams,
    dbUrl: db.dbUrl,
    logPath,
    adminPassword,
    api: apiClient(ams.url, () => session?.access_token),
    anon: apiClient(ams.url),
    async userWith(role, agentId) {
      const username = `${role}-${randomBytes(4).toString('hex')}`;
      const password = testPassword();
      const res = await handle.api.post('/api/v1/users', { username, password, role, ...(agentId ? { agent_id: agentId } : {}) });
      if (res.status !== 201) throw new Error(`userWith ${role}: ${res.status} ${JSON.stringify(res.body)}`);
      const s = await login(ams.url, username, password);
      return { api: apiClient(ams.url, s.access_token), username, password, session: s, id: res.body.id };
    },
    async restart() {
      await ams.close();
      settings.port = ams.port;
      ams = await start();
      handle.ams = ams;
      if (session) session = await login(ams.url, ADMIN, adminPassword);
    },
    async stop() {
      await ams.close();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
