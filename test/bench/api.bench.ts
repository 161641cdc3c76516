// API benchmarks on one seeded AMS (10,000 agents, 100 config versions on one agent):
//  - foundation: list (first and deep cursor page), config read and write, beside a bare
//    Koa route answering a constant, measured in the same process and run;
//  - security: the same list and config write through the product app (authentication,
//    authorization, audit, rate limits, headers) beside an app composed in this harness
//    from the same routes without those middlewares.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { startAms, type RunningAms } from '../../server/ams.js';
import { apiRouter, apiRoutes, baseMiddleware, jsonBody } from '../../server/app.js';
import { parseSettings } from '../../server/settings.js';
import { AMS_VERSION } from '../../server/version.js';
import { measure, quick, request, seedFleet, type Row } from './lib.js';

const AGENTS = 10_000;
const VERSIONS = 100;
const N = quick ? 300 : 2000;
const BENCH_PASSWORD = 'bench-password-not-secret';

async function listen(app: Koa | ((req: http.IncomingMessage, res: http.ServerResponse) => void)): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(typeof app === 'function' ? app : app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

function bareKoa(): Koa {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { ok: true };
  });
  return app;
}

/** The product's routes and services without authentication, authorization, audit or limits. */
function appWithoutSecurity(ams: RunningAms): Koa {
  const logger = pino({ level: 'silent' });
  const app = new Koa();
  for (const m of baseMiddleware(logger)) app.use(m);
  app.use(jsonBody());
  const router = apiRouter(apiRoutes(ams.services), AMS_VERSION);
  app.use(router.routes());
  return app;
}

async function seed(ams: RunningAms): Promise<{ configAgent: string; deepCursor: string }> {
  const ids = await seedFleet(ams.db.knex, AGENTS, () => ({ process_status: 'registered', health_status: 'unknown' }));
  const configAgent = ids[AGENTS / 2];
  for (let v = 1; v <= VERSIONS; v++) {
    await ams.services.config.putAgent(configAgent, { heartbeat_interval: (v % 60) + 1, log_level: 'INFO', tag: `v${v}` }, 'bench', `version ${v}`);
  }
  let cursor = '';
  for (let page = 0; page < 90; page++) {
    const res = await ams.services.agents.list({ limit: 100, after: cursor ? decode(cursor) : undefined });
    cursor = res.next_cursor!;
  }
  return { configAgent, deepCursor: cursor };
}

function decode(cursor: string): { created_at: string; id: string } {
  const { c, i } = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { c: string; i: string };
  return { created_at: c, id: i };
}

export async function benchApi(dbLabel: string, dbUrl: string | undefined): Promise<{ foundation: Row[]; security: Row[] }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-bench-'));
  const logger = pino({ level: 'warn' }, pino.destination({ dest: path.join(dataDir, 'ams.log'), sync: false }));
  const settings = { ...parseSettings(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {}), dbUrl, rateLimitPerMinute: 10_000_000 };
  const ams = await startAms(settings, { logger, env: {}, secrets: { adminPassword: BENCH_PASSWORD } });
  const bare = await listen(bareKoa());
  const open = await listen(appWithoutSecurity(ams));
  try {
    const { configAgent, deepCursor } = await seed(ams);
    const tokens = JSON.parse(await request(`${ams.url}/api/v1/auth/login`, 'POST', { username: 'admin', password: BENCH_PASSWORD }));
    const auth = { authorization: `Bearer ${tokens.access_token}` };
    const api = `${ams.url}/api/v1`;
    const openApi = `${open.url}/api/v1`;
    let i = 0;
    const putBody = () => ({ config: { heartbeat_interval: (i++ % 60) + 1 } });

    const base = await measure(() => request(`${bare.url}/`), N);
    const list = await measure(() => request(`${api}/agents?limit=100`, 'GET', undefined, auth), N);
    const foundation: Row[] = [
      { name: `${dbLabel}: bare Koa route (baseline)`, s: base },
      { name: `${dbLabel}: GET /agents?limit=100 (first page)`, s: list, base },
      { name: `${dbLabel}: GET /agents?limit=100 (page 91)`, s: await measure(() => request(`${api}/agents?limit=100&cursor=${deepCursor}`, 'GET', undefined, auth), N), base },
      { name: `${dbLabel}: GET /agents/{id}/config`, s: await measure(() => request(`${api}/agents/${configAgent}/config`, 'GET', undefined, auth), N), base },
      { name: `${dbLabel}: PUT /agents/{id}/config`, s: await measure(() => request(`${api}/agents/${configAgent}/config`, 'PUT', putBody(), auth), N), base, note: `${VERSIONS}+ versions stored` },
    ];

    const listOpen = await measure(() => request(`${openApi}/agents?limit=100`), N);
    const listSecured = await measure(() => request(`${api}/agents?limit=100`, 'GET', undefined, auth), N);
    const putOpen = await measure(() => request(`${openApi}/agents/${configAgent}/config`, 'PUT', putBody()), N);
    const putSecured = await measure(() => request(`${api}/agents/${configAgent}/config`, 'PUT', putBody(), auth), N);
    const added = (a: typeof listOpen, b: typeof listOpen) => `added p50 ${(a.p50 - b.p50).toFixed(3)} ms, p99 ${(a.p99 - b.p99).toFixed(3)} ms`;
    const security: Row[] = [
      { name: `${dbLabel}: GET /agents?limit=100 without security (baseline)`, s: listOpen },
      { name: `${dbLabel}: GET /agents?limit=100 with auth + RBAC + limits`, s: listSecured, base: listOpen, note: added(listSecured, listOpen) },
      { name: `${dbLabel}: PUT /agents/{id}/config without security (baseline)`, s: putOpen },
      { name: `${dbLabel}: PUT /agents/{id}/config with auth + RBAC + audit + limits`, s: putSecured, base: putOpen, note: added(putSecured, putOpen) },
    ];
    return { foundation, security };
  } finally {
    bare.close();
    open.close();
    await ams.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
