// Starts the real AMS in-process on a fresh database (PGlite or PostgreSQL per
// OPMAS_TEST_DB), with a small HTTP client for the tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import pino from 'pino';
import { startAms, type RunningAms } from '../../server/ams.js';
import { createLogger } from '../../server/logger.js';
import type { AmsSettings } from '../../server/settings.js';
import { freshDatabase, type FreshDb } from './test-db.js';

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

export function apiClient(baseUrl: string, defaultHeaders: () => Record<string, string> = () => ({})): ApiClient {
  const raw = async (p: string, init: RequestInit): Promise<ApiResponse> => {
    const res = await fetch(new URL(p, baseUrl), { ...init, headers: { ...defaultHeaders(), ...(init.headers as Record<string, string>) } });
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

export interface TestAms {
  url: string;
  api: ApiClient;
  dataDir: string;
  ams: RunningAms;
  dbUrl?: string;
  /** Stops and starts the AMS again on the same data dir and database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestAmsOptions {
  env?: NodeJS.ProcessEnv;
  settings?: Partial<AmsSettings>;
}

export async function startTestAms(opts: TestAmsOptions = {}): Promise<TestAms> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-test-'));
  const db: FreshDb = await freshDatabase(dataDir, inject('dbTemplate'));
  const settings: AmsSettings = { host: '127.0.0.1', port: 0, dataDir, dbUrl: db.dbUrl, logLevel: 'info', ...opts.settings };
  const logger = createLogger(settings.logLevel, pino.destination({ dest: path.join(dataDir, 'ams.log'), sync: true }));
  const start = () => startAms(settings, { logger, env: opts.env ?? {}, drainTimeoutMs: 2000 });
  let ams = await start();
  const handle: TestAms = {
    url: ams.url,
    dataDir,
    ams,
    dbUrl: db.dbUrl,
    api: apiClient(ams.url),
    async restart() {
      await ams.close();
      settings.port = ams.port;
      ams = await start();
      handle.ams = ams;
    },
    async stop() {
      await ams.close();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}
