// Foundation benchmark: with 10,000 agents and 100 config versions on one agent, p50/p99 of
// list (first and deep cursor page), config read and config write, each beside a bare Koa
// route answering a constant in the same process and run. PGlite and PostgreSQL.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { startAms, type RunningAms } from '../../server/ams.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { measure, quick, request, type Row } from './lib.js';

const AGENTS = 10_000;
const VERSIONS = 100;
const N = quick ? 300 : 2000;

async function bareKoa(): Promise<{ url: string; close: () => void }> {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { ok: true };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

async function seed(ams: RunningAms): Promise<{ configAgent: string; deepCursor: string }> {
  const knex = ams.db.knex;
  const t0 = Date.now() - AGENTS;
  const agents = Array.from({ length: AGENTS }, (_, i) => ({
    id: newAgentId(i % 2 ? 'security' : 'wifi'),
    name: `BenchAgent${i}`,
    type: i % 2 ? 'security' : 'wifi',
    version: '1.0.0',
    description: 'bench',
    subscribed_topics: JSON.stringify(['logs.security']),
    findings_topic: 'findings.security',
    labels: JSON.stringify({ site: `site-${i % 20}`, group: i % 3 ? 'edge' : 'core' }),
    created_at: new Date(t0 + i),
    updated_at: new Date(t0 + i),
  }));
  await knex.batchInsert('agents', agents, 1000);
  await knex.batchInsert(
    'agent_status',
    agents.map((a) => ({ agent_id: a.id, process_status: 'registered', health_status: 'unknown', recovery_status: 'none' })),
    1000,
  );
  const configAgent = agents[AGENTS / 2].id;
  for (let v = 1; v <= VERSIONS; v++) {
    await ams.services.config.putAgent(configAgent, { heartbeat_interval: (v % 60) + 1, log_level: 'INFO', tag: `v${v}` }, 'bench', `version ${v}`);
  }
  // A cursor 90 pages deep.
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

export async function benchApi(dbLabel: string, dbUrl: string | undefined): Promise<Row[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-bench-'));
  const logger = pino({ level: 'warn' }, pino.destination({ dest: path.join(dataDir, 'ams.log'), sync: false }));
  const ams = await startAms({ host: '127.0.0.1', port: 0, dataDir, dbUrl, logLevel: 'warn' }, { logger, env: {} });
  const bare = await bareKoa();
  try {
    const { configAgent, deepCursor } = await seed(ams);
    const api = `${ams.url}/api/v1`;
    const base = await measure(() => request(bare.url), N);
    const rows: Row[] = [{ name: `${dbLabel}: bare Koa route (baseline)`, s: base }];
    rows.push({ name: `${dbLabel}: GET /agents?limit=100 (first page)`, s: await measure(() => request(`${api}/agents?limit=100`), N), base });
    rows.push({ name: `${dbLabel}: GET /agents?limit=100 (page 91)`, s: await measure(() => request(`${api}/agents?limit=100&cursor=${deepCursor}`), N), base });
    rows.push({ name: `${dbLabel}: GET /agents/{id}/config`, s: await measure(() => request(`${api}/agents/${configAgent}/config`), N), base });
    let i = 0;
    rows.push({
      name: `${dbLabel}: PUT /agents/{id}/config`,
      s: await measure(() => request(`${api}/agents/${configAgent}/config`, 'PUT', { config: { heartbeat_interval: (i++ % 60) + 1 } }), N),
      base,
      note: `${VERSIONS}+ versions stored`,
    });
    return rows;
  } finally {
    bare.close();
    await ams.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
