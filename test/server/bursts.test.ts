// Bursts a fleet makes: the first heartbeats of many agents that run on their own (after a start,
// or agents registered together) are judged with their hosts and configurations read together,
// and state events published in one turn are written to the outbox in one statement, in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { eventually } from '../helpers/wait.js';
import { newAgentId } from '../../server/domain/identifiers.js';
import { createExternalHealth } from '../../server/control/external-health.js';
import type { AgentMessageHandlers } from '../../server/broker/index.js';
import type { AmsEvent } from '../../server/events/bus.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(() => t?.stop());

const knex = () => t.ams.db.knex;

/** The SQL statements knex sends while `fn` runs and until `until` holds. */
async function statements(fn: () => void, until: () => Promise<boolean>): Promise<string[]> {
  const sql: string[] = [];
  const listen = (q: { sql: string }) => void sql.push(q.sql);
  knex().on('query', listen);
  try {
    fn();
    await eventually(until, (done) => done, 'the burst handled');
    return sql;
  } finally {
    knex().removeListener('query', listen);
  }
}

async function externalAgents(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => newAgentId('burst'));
  await knex().batchInsert('agents', ids.map((id, i) => ({ id, name: `Burst${i}-${id.slice(-6)}`, type: 'burst', version: '1.0.0', subscribed_topics: '[]', labels: '{}' })), 500);
  await knex().batchInsert('agent_status', ids.map((id) => ({ agent_id: id, process_status: 'registered', health_status: 'unknown', recovery_status: 'none' })), 500);
  return ids;
}

describe('a burst of first heartbeats', () => {
  it('reads the hosts and configurations of 200 agents heard in one turn together, and writes their health together', async () => {
    const ids = await externalAgents(200);
    // This judge is handed the heartbeats directly, and judges whatever replica holds the cluster's lock.
    let handlers: AgentMessageHandlers = {};
    const health = createExternalHealth({
      db: t.ams.db,
      status: t.ams.services.status,
      logger: pino({ level: 'silent' }),
      config: t.ams.services.config,
      consume: (h) => ((handlers = h), { stop: () => undefined }),
      lock: { start: (acquired) => acquired(), held: () => true, stop: async () => undefined },
    });
    health.start();
    try {
      const now = new Date();
      const sql = await statements(
        () => ids.forEach((id) => void handlers.heartbeat!({ agentId: id, kind: 'heartbeat', subject: `opmas.agents.${id}.heartbeat`, body: { agent_id: id, status: 'ready', timestamp: now.toISOString() } as never, receivedAt: now })),
        async () => Number((await knex()('agent_status').whereIn('agent_id', ids).where('health_status', 'healthy').count({ n: '*' }).first())!.n) === ids.length,
      );
      // One agent at a time, this was 200 host lookups, 200 configuration reads and 200 health
      // writes (the bound leaves room for the AMS's own work meanwhile and a split batch).
      expect(sql.filter((s) => /^select "id", "host_id" from "agents"|^select "host_id" from "agents"/i.test(s)).length).toBeLessThan(10);
      expect(sql.filter((s) => /^select/i.test(s) && s.includes('"agent_config_versions"')).length).toBeLessThan(10);
      expect(sql.filter((s) => /^with input as/i.test(s)).length).toBeLessThan(10);
    } finally {
      await health.stop();
    }
  });
});

describe('state events published in one turn', () => {
  it('are one INSERT into the outbox and reach the stream in the order they were published', async () => {
    const agentId = newAgentId('burst');
    const versions = Array.from({ length: 50 }, (_, i) => i + 1);
    const delivered: number[] = [];
    const off = t.ams.services.events.subscribe((e: AmsEvent) => {
      if (e.type === 'config.applied' && e.agent_id === agentId) delivered.push(e.version);
    });
    try {
      const sql = await statements(
        () => versions.forEach((version) => t.ams.services.events.publish({ type: 'config.applied', agent_id: agentId, version })),
        async () => delivered.length === versions.length,
      );
      expect(sql.filter((s) => /^insert into "event_outbox"/i.test(s))).toHaveLength(1);
      expect(delivered).toEqual(versions);
    } finally {
      off();
    }
  });
});
