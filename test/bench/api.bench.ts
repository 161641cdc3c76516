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
import pg from 'pg';
import pino from 'pino';
import { startAms, type RunningAms } from '../../server/ams.js';
import { apiRouter, apiRoutes, baseMiddleware, createApp, jsonBody } from '../../server/app.js';
import { createSecurity } from '../../server/security/index.js';
import { agentsRepo } from '../../server/db/agents.repo.js';
import { prepared } from '../../server/db/prepared.js';
import { parseSettings } from '../../server/settings.js';
import { AMS_VERSION } from '../../server/version.js';
import { measurePair, measureRounds, quick, request, seedFleet, stats, type Row } from './lib.js';

const AGENTS = 10_000;
const VERSIONS = 100;
const N = quick ? 300 : 2000;
const BENCH_PASSWORD = 'bench-password-not-secret';
const BENCH_JWT_SECRET = 'bench-jwt-secret-not-secret-32-bytes-long';

async function listen(app: Koa | ((req: http.IncomingMessage, res: http.ServerResponse) => void)): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(typeof app === 'function' ? app : app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

function bareKoa(page?: { text: string; value: unknown }): Koa {
  const app = new Koa();
  app.use((ctx) => {
    if (page && ctx.path === '/page.json') {
      ctx.type = 'application/json';
      ctx.body = page.text;
    } else if (page && ctx.path === '/page') ctx.body = page.value;
    else ctx.body = { ok: true };
  });
  return app;
}

/**
 * The product app on the same services, but with the per-token API limit counted in the
 * database (the shared store the login limits use) instead of in memory: what moving it to the
 * cluster-wide store would cost each request.
 */
function appWithSharedApiLimit(ams: RunningAms, settings: ReturnType<typeof parseSettings>): Koa {
  const logger = pino({ level: 'silent' });
  const security = createSecurity({
    db: ams.db,
    logger,
    sessions: { signingKey: new TextEncoder().encode(BENCH_JWT_SECRET), accessTtlS: 900, refreshTtlS: 3600 },
    limits: { loginPerMinute: 10, apiPerMinute: settings.rateLimitPerMinute, authFailuresPerMinute: 30, healthPerMinute: 60_000, apiInDatabase: true },
    corsOrigins: [],
    announce: () => undefined,
  });
  return createApp({ logger, services: ams.services, security, version: AMS_VERSION }).app;
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

/**
 * The first page's SQL straight through the pg driver on a pooled connection, as a prepared
 * statement with the same row parsing: the database round trip with no Knex, service, JSON or
 * HTTP around it, which no change above the driver can go below.
 */
async function driverFloor<T>(ams: RunningAms, time: (fn: () => Promise<unknown>) => Promise<T>): Promise<T> {
  const { sql, bindings } = agentsRepo(ams.db.knex).listQuery({ limit: 100 }).toSQL().toNative();
  const client = ams.db.knex.client as { acquireConnection(): Promise<pg.Client>; releaseConnection(c: pg.Client): Promise<void> };
  const conn = await client.acquireConnection();
  try {
    const query = { text: sql, values: bindings as unknown[], ...prepared('bench_driver_floor', { isoTimestamps: true }) };
    return await time(() => conn.query(query));
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * The same statement through the bare driver on a pooled connection taken for each call, as the
 * API's queries take theirs: beside API calls that need the pool (PGlite has one connection).
 */
function driverPerCall(ams: RunningAms): () => Promise<unknown> {
  const { sql, bindings } = agentsRepo(ams.db.knex).listQuery({ limit: 100 }).toSQL().toNative();
  const client = ams.db.knex.client as { acquireConnection(): Promise<pg.Client>; releaseConnection(c: pg.Client): Promise<void> };
  const query = { text: sql, values: bindings as unknown[], ...prepared('bench_driver_floor', { isoTimestamps: true }) };
  return async () => {
    const conn = await client.acquireConnection();
    try {
      return await conn.query(query);
    } finally {
      await client.releaseConnection(conn);
    }
  };
}

export async function benchApi(dbLabel: string, dbUrl: string | undefined): Promise<{ foundation: Row[]; security: Row[]; listFloor: Row[] }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-bench-'));
  const logger = pino({ level: 'warn' }, pino.destination({ dest: path.join(dataDir, 'ams.log'), sync: false }));
  const settings = { ...parseSettings(['--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], {}), dbUrl, rateLimitPerMinute: 10_000_000 };
  const ams = await startAms(settings, { logger, env: {}, secrets: { adminPassword: BENCH_PASSWORD, jwtSecret: BENCH_JWT_SECRET } });
  const open = await listen(appWithoutSecurity(ams));
  const sharedLimit = await listen(appWithSharedApiLimit(ams, settings));
  let bare: Awaited<ReturnType<typeof listen>> | undefined;
  try {
    const { configAgent, deepCursor } = await seed(ams);
    // The first page as the API answers it, for bare routes that only send it: what HTTP and
    // JSON cost for this body, with nothing of the AMS under them.
    const page = await ams.services.agents.list({ limit: 100 });
    bare = await listen(bareKoa({ text: JSON.stringify(page), value: page }));
    const tokens = JSON.parse(await request(`${ams.url}/api/v1/auth/login`, 'POST', { username: 'admin', password: BENCH_PASSWORD }));
    const auth = { authorization: `Bearer ${tokens.access_token}` };
    const api = `${ams.url}/api/v1`;
    const openApi = `${open.url}/api/v1`;
    let i = 0;
    const putBody = () => ({ config: { heartbeat_interval: (i++ % 60) + 1 } });

    // Each case runs interleaved with its baseline (measurePair); the ratio is to the
    // baseline samples taken in the same rounds, and the baseline row pools all of them.
    const bareUrl = bare.url;
    const bareRoute = () => request(`${bareUrl}/`);
    const beside = async (name: string, fn: () => Promise<unknown>, note?: string): Promise<Row & { samples: number[] }> => {
      const m = await measurePair(fn, bareRoute, N);
      const paired = `bare route in the same rounds: p50 ${m.base.p50.toFixed(3)} ms, p99 ${m.base.p99.toFixed(3)} ms`;
      return { name, s: m.s, base: m.base, note: note ? `${note}; ${paired}` : paired, samples: m.baseSamples };
    };
    const cases = [
      await beside(`${dbLabel}: GET /agents?limit=100 (first page)`, () => request(`${api}/agents?limit=100`, 'GET', undefined, auth)),
      await driverFloor(ams, (fn) => beside(`${dbLabel}: its query alone, bare pg driver (prepared)`, fn, 'the floor under the row above')),
      await beside(`${dbLabel}: GET /agents?limit=100 (page 91)`, () => request(`${api}/agents?limit=100&cursor=${deepCursor}`, 'GET', undefined, auth)),
      await beside(`${dbLabel}: GET /agents/{id}/config`, () => request(`${api}/agents/${configAgent}/config`, 'GET', undefined, auth)),
      await beside(`${dbLabel}: PUT /agents/{id}/config`, () => request(`${api}/agents/${configAgent}/config`, 'PUT', putBody(), auth), `${VERSIONS}+ versions stored`),
    ];
    const foundation: Row[] = [
      { name: `${dbLabel}: bare Koa route (baseline, all rounds)`, s: stats(cases.flatMap((c) => c.samples)) },
      ...cases.map(({ samples: _, ...row }) => row),
    ];

    // The first page beside the same SQL through the bare driver, and what lies between them,
    // all timed in the same rounds: the driver (a pooled connection per call), the agent service in
    // process (Knex and the row mapping), bare Koa routes sending the same page (HTTP and JSON.stringify;
    // HTTP alone), and the product route (middleware, routing, validation and security on top).
    const bodyKiB = Math.round(JSON.stringify(page).length / 1024);
    const floor = await measureRounds(
      {
        api: () => request(`${api}/agents?limit=100`, 'GET', undefined, auth),
        driver: driverPerCall(ams),
        service: () => ams.services.agents.list({ limit: 100 }),
        serialized: () => request(`${bareUrl}/page`),
        sent: () => request(`${bareUrl}/page.json`),
      },
      N,
    );
    const listFloor: Row[] = [
      { name: `${dbLabel}: its query through the bare pg driver (prepared, pooled connection; the base of the ratios)`, s: floor.driver },
      { name: `${dbLabel}: the page from the agent service, in process`, s: floor.service, base: floor.driver, note: 'the driver plus Knex and the row mapping; no HTTP' },
      { name: `${dbLabel}: bare Koa route sending the page, JSON.stringify per request`, s: floor.serialized, base: floor.driver, note: `HTTP and JSON of this ${bodyKiB} KiB body, nothing under them` },
      { name: `${dbLabel}: bare Koa route sending the page as ready text`, s: floor.sent, base: floor.driver, note: 'HTTP alone for this body' },
      {
        name: `${dbLabel}: GET /agents?limit=100 (the API)`,
        s: floor.api,
        base: floor.driver,
        note:
          `p50 above the driver: Knex and mapping ${(floor.service.p50 - floor.driver.p50).toFixed(3)} ms + HTTP and JSON ${floor.serialized.p50.toFixed(3)} ms ` +
          `+ middleware, routing, validation and security ${(floor.api.p50 - floor.service.p50 - floor.serialized.p50).toFixed(3)} ms; ` +
          `the floor of any HTTP answer of this page is the driver plus the bare route: ${((floor.driver.p50 + floor.serialized.p50) / floor.driver.p50).toFixed(2)}× the driver`,
      },
    ];

    const added = (a: Row) => `added p50 ${(a.s.p50 - a.base!.p50).toFixed(3)} ms, p99 ${(a.s.p99 - a.base!.p99).toFixed(3)} ms`;
    const withSecurity = async (name: string, secured: () => Promise<unknown>, open: () => Promise<unknown>): Promise<Row[]> => {
      const m = await measurePair(secured, open, N);
      const row: Row = { name: `${dbLabel}: ${name} with auth + RBAC${name.startsWith('PUT') ? ' + audit' : ''} + limits`, s: m.s, base: m.base };
      return [{ name: `${dbLabel}: ${name} without security (baseline)`, s: m.base }, { ...row, note: added(row) }];
    };
    const sharedM = await measurePair(() => request(`${sharedLimit.url}/api/v1/agents?limit=100`, 'GET', undefined, auth), () => request(`${api}/agents?limit=100`, 'GET', undefined, auth), N);
    const sharedRow: Row = { name: `${dbLabel}: GET /agents?limit=100, per-token API limit in the database`, s: sharedM.s, base: sharedM.base };
    const security: Row[] = [
      ...(await withSecurity('GET /agents?limit=100', () => request(`${api}/agents?limit=100`, 'GET', undefined, auth), () => request(`${openApi}/agents?limit=100`))),
      { name: `${dbLabel}: GET /agents?limit=100, per-token API limit in memory (the product; baseline)`, s: sharedM.base },
      { ...sharedRow, note: added(sharedRow) },
      ...(await withSecurity(
        'PUT /agents/{id}/config',
        () => request(`${api}/agents/${configAgent}/config`, 'PUT', putBody(), auth),
        () => request(`${openApi}/agents/${configAgent}/config`, 'PUT', putBody()),
      )),
    ];
    return { foundation, security, listFloor };
  } finally {
    bare?.close();
    open.close();
    sharedLimit.close();
    await ams.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
