// What agents report about themselves, written by several replicas at once (a queue group spreads
// one agent's heartbeats over them): overlapping batches in opposite orders neither deadlock nor
// lose a write, and a report older than the stored heartbeat never moves it back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/database.js';
import { agentStatusRepo } from '../../server/db/agent-status.repo.js';
import { freshDatabase, type FreshDb } from '../helpers/test-db.js';
import { seedFleet } from '../bench/lib.js';

let dir: string;
let fresh: FreshDb;
let a: Database;
let b: Database;
let ids: string[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-reported-'));
  fresh = await freshDatabase(dir, inject('dbTemplate'));
  a = await openDatabase({ dataDir: dir, dbUrl: fresh.dbUrl });
  // Two pools on one PostgreSQL, as two replicas have (PGlite serves one process: one pool).
  b = fresh.dbUrl ? await openDatabase({ dataDir: dir, dbUrl: fresh.dbUrl }) : a;
  ids = await seedFleet(a.knex, 400, () => ({ process_status: 'registered', health_status: 'unknown' }));
});
afterAll(async () => {
  if (b !== a) await b.close();
  await a.close();
  await fresh.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const report = (id: string, at: Date, uptime: number, status = 'ready') => ({ agentId: id, heartbeatAt: at, uptime, status, detail: null });

describe('recordReported', () => {
  it('takes overlapping batches from two writers in opposite orders, all of them, without a deadlock', async () => {
    const base = Date.now();
    const rounds = 20;
    const writes: Promise<void>[] = [];
    for (let r = 0; r < rounds; r++) {
      const at = new Date(base + r);
      writes.push(agentStatusRepo(a.knex).recordReported(ids.map((id) => report(id, at, r))));
      writes.push(agentStatusRepo(b.knex).recordReported([...ids].reverse().map((id) => report(id, at, r))));
    }
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
    const rows = await a.knex('agent_status').whereIn('agent_id', ids).select('last_heartbeat', 'uptime_s');
    expect(new Set(rows.map((r) => new Date(r.last_heartbeat).getTime()))).toEqual(new Set([base + rounds - 1]));
    expect(new Set(rows.map((r) => Number(r.uptime_s)))).toEqual(new Set([rounds - 1]));
  });

  it('never moves a heartbeat back: an older report changes neither its time nor what it said', async () => {
    const id = ids[0];
    const newer = new Date(Date.now() + 60_000);
    await agentStatusRepo(a.knex).recordReported([report(id, newer, 500, 'degraded')]);
    await agentStatusRepo(b.knex).recordReported([report(id, new Date(newer.getTime() - 5000), 495, 'ready')]);
    const row = await a.knex('agent_status').where({ agent_id: id }).first();
    expect(new Date(row.last_heartbeat).getTime()).toBe(newer.getTime());
    expect(Number(row.uptime_s)).toBe(500);
    expect(row.reported_status).toBe('degraded');
    // A status message without a heartbeat time still sets the word.
    await agentStatusRepo(b.knex).recordReported([{ agentId: id, heartbeatAt: null, uptime: null, status: 'stopping', detail: 'bye' }]);
    expect((await a.knex('agent_status').where({ agent_id: id }).first()).reported_status).toBe('stopping');
  });
});
