// Health changes and effective configs in bursts: an AMS start or a fleet going quiet at once
// touches thousands of agents; the status service writes the health changes of one tick in one
// statement, and the config service reads many agents' configs in two queries.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrate.js';
import { agentsRepo } from '../../server/db/agents.repo.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { createEventBus, type AmsEvent } from '../../server/events/bus.js';
import { createStatusService } from '../../server/services/status.js';
import { createConfigService } from '../../server/services/config.js';
import { emptyDatabase } from '../helpers/test-db.js';

let db: Database;
let cleanup: () => Promise<void>;
const events = createEventBus();
const seen: AmsEvent[] = [];
events.subscribe((e) => void seen.push(e));

beforeAll(async () => {
  const fresh = await emptyDatabase('batch');
  db = fresh.db;
  cleanup = fresh.drop;
  await migrateLatest(db.knex);
});
afterAll(() => cleanup());

async function agents(n: number, type = 'batch'): Promise<string[]> {
  const ids = Array.from({ length: n }, () => newAgentId(type));
  for (const [i, id] of ids.entries()) {
    await agentsRepo(db.knex).insert({ id, name: `Batch${randomBytes(3).toString('hex')}${i}`, type, version: '1.0.0', subscribed_topics: [], labels: {} }, 'running');
  }
  return ids;
}

/** Counts the SQL statements knex sends while `fn` runs. */
async function statements<T>(fn: () => Promise<T>): Promise<{ result: T; count: number; sql: string[] }> {
  const sql: string[] = [];
  const listen = (q: { sql: string }) => void sql.push(q.sql);
  db.knex.on('query', listen);
  try {
    const result = await fn();
    return { result, count: sql.length, sql };
  } finally {
    db.knex.removeListener('query', listen);
  }
}

const history = (agentId: string) => db.knex('agent_status_history').where({ agent_id: agentId, event_type: 'health_changed' }).orderBy('id').select('from_status', 'to_status', 'details');

describe('health changes in a burst', () => {
  it('writes the changes of 50 agents requested in one tick with one statement, each with its history row and event', async () => {
    const status = createStatusService({ db, events });
    const ids = await agents(50);
    seen.length = 0;
    const { result, count } = await statements(() => Promise.all(ids.map((id) => status.setHealth(id, 'healthy', [], { cause: 'burst' }))));
    expect(result).toEqual(ids.map(() => 'unknown'));
    expect(count).toBe(1);
    const rows = await db.knex('agent_status').whereIn('agent_id', ids).pluck('health_status');
    expect(new Set(rows)).toEqual(new Set(['healthy']));
    for (const id of ids) expect(await history(id)).toEqual([{ from_status: 'unknown', to_status: 'healthy', details: { cause: 'burst', reasons: [] } }]);
    expect(seen.filter((e) => e.type === 'health.changed').map((e) => ('agent_id' in e ? e.agent_id : null)).sort()).toEqual([...ids].sort());
  });

  it('keeps two changes of one agent in the same tick in order, and writes nothing for no change or an unknown agent', async () => {
    const status = createStatusService({ db, events });
    const [id] = await agents(1);
    const reasons = [{ kind: 'heartbeat', message: 'late' }];
    const answers = await Promise.all([
      status.setHealth(id, 'healthy', []),
      status.setHealth(id, 'warning', reasons),
      status.setHealth(id, 'warning', reasons),
      status.setHealth('batch-00000000-0000-4000-8000-000000000000', 'healthy', []),
    ]);
    expect(answers).toEqual(['unknown', 'healthy', undefined, undefined]);
    expect((await history(id)).map((r) => [r.from_status, r.to_status])).toEqual([
      ['unknown', 'healthy'],
      ['healthy', 'warning'],
    ]);
    expect((await history(id))[1].details).toEqual({ reasons });
    expect(await db.knex('agent_status').where({ agent_id: id }).first('health_status')).toEqual({ health_status: 'warning' });
  });
});

describe('effective configs of many agents', () => {
  it('merges defaults, environment, fleet and each agent in two queries, the fleet layer for an agent without its own', async () => {
    const config = createConfigService({ db, defaults: () => ({ heartbeat_interval: 30, log_level: 'INFO', autostart: false }), environment: { log_level: 'WARNING' } });
    const [a, b, c] = await agents(3, 'cfg');
    await config.putFleet({ heartbeat_interval: 15 }, 'test', null);
    await config.putAgent(a, { log_level: 'DEBUG' }, 'test', null);
    await config.putAgent(a, { log_level: 'ERROR', autostart: true }, 'test', null);
    await config.putAgent(c, { heartbeat_interval: 5 }, 'test', null);
    const { result, count } = await statements(() => config.effectiveConfigs([a, b, c]));
    expect(count).toBe(2);
    expect(result).toEqual([
      { heartbeat_interval: 15, log_level: 'ERROR', autostart: true },
      { heartbeat_interval: 15, log_level: 'WARNING', autostart: false },
      { heartbeat_interval: 5, log_level: 'WARNING', autostart: false },
    ]);
    // The same answer as one agent's own effective configuration.
    for (const [i, id] of [a, b, c].entries()) expect((await config.effective(id)).config).toEqual(result[i]);
  });
});
