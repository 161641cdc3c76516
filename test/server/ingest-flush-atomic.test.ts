// A flush of the ingest that the database drops halfway: the metric rows were inserted, then the
// log rows' insert failed as the database went away, and the whole batch was kept for the next
// flush, which inserted the metric rows a second time ("each heartbeat written once" broken; found
// by the cluster harness, test/cluster/, when PostgreSQL was stopped under load). The rows of a
// flush are now written together or not at all. The database goes away here in a trigger that
// raises PostgreSQL's admin_shutdown (57P01) on the log insert, once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../server/db/database.js';
import { createIngest } from '../../server/monitoring/ingest.js';
import { agentsRepo } from '../../server/db/agents.repo.js';
import { freshDatabase, type FreshDb } from '../helpers/test-db.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-ingest-atomic-'));
let fresh: FreshDb;
let db: Database;
const agentId = 'security-00000000-0000-4000-8000-000000000001';

beforeAll(async () => {
  fresh = await freshDatabase(dataDir, inject('dbTemplate'));
  db = await openDatabase({ dbUrl: fresh.dbUrl, dataDir });
  await agentsRepo(db.knex).insert({ id: agentId, name: 'Atomic', type: 'security', version: '1.0.0', subscribed_topics: [], labels: {} }, 'registered');
  await db.knex.raw(`
    CREATE SEQUENCE ingest_fault;
    CREATE FUNCTION ingest_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- A sequence, because it moves on even when the statement fails: the first insert only.
      IF nextval('ingest_fault') = 1 THEN
        RAISE EXCEPTION 'terminating connection due to administrator command' USING ERRCODE = '57P01';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ingest_fault BEFORE INSERT ON agent_logs FOR EACH STATEMENT EXECUTE FUNCTION ingest_fault();
  `);
});
afterAll(async () => {
  await db?.close();
  await fresh?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('an ingest flush the database drops halfway', () => {
  it('is written once when the database is back: its rows together or not at all', async () => {
    const ingest = createIngest({ db, logger: pino({ level: 'silent' }), flushMs: 3_600_000, reportedStatus: async () => undefined });
    try {
      const at = new Date();
      ingest.handlers.metrics!({ agentId, kind: 'metrics', subject: `opmas.agents.${agentId}.metrics`, receivedAt: at, body: { events_processed: 7 } } as any);
      ingest.handlers.logs!({ agentId, kind: 'logs', subject: `opmas.agents.${agentId}.logs`, receivedAt: at, body: { level: 'INFO', message: 'one line', timestamp: at.toISOString() } } as any);

      await ingest.flush(); // the log insert fails: the database "went away"
      expect(ingest.stats().retried).toBe(1);
      await ingest.flush(); // it is back
      expect(ingest.stats().flushes).toBe(1);

      const counters = await db.knex('agent_metrics').where({ agent_id: agentId, name: 'events_processed' });
      expect(counters.map((r) => Number(r.value))).toEqual([7]);
      expect((await db.knex('agent_logs').where({ agent_id: agentId })).map((r) => r.message)).toEqual(['one line']);
    } finally {
      await ingest.stop();
    }
  });
});
