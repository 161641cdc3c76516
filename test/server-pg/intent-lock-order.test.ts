// PostgreSQL run only: an operator's intent (start, stop, restart) and a status write of another
// transaction on the same agent at the same moment (the observation applier recording what a host
// saw, on another replica). The status write locks agent_status and then appends a history row,
// whose foreign key takes a KEY SHARE lock on the agents row; the intent locks the agents row and
// then agent_status. With FOR UPDATE on the agents row the two wait for each other and PostgreSQL
// aborts one (deadlock detected: the operator got a 500 in the cluster harness); FOR NO KEY UPDATE
// still serializes intents but lets the foreign key check through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatusRepo } from '../../server/db/agent-status.repo.js';
import { statusHistoryRepo } from '../../server/db/status-history.repo.js';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { createAgent } from '../helpers/factories.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
beforeAll(async () => {
  t = await startTestAms();
});
afterAll(async () => {
  await t?.stop();
});

describe('an operator intent meeting a status write on the same agent', () => {
  it('waits for it and is carried out, and the status write commits: no deadlock', async () => {
    expect(t.ams.db.kind).toBe('postgres');
    const { id } = await createAgent(t.api);
    const knex = t.ams.db.knex;
    await knex('agent_status').where({ agent_id: id }).update({ process_status: 'running' });

    let stop: Promise<{ status: number; body: any }> | undefined;
    const write = knex.transaction(async (trx) => {
      // What the applier does first: the agent's status row, locked.
      await agentStatusRepo(trx).lock(id);
      stop = t.api.post(`/api/v1/agents/${id}/stop`);
      // The stop has locked what it locks first and waits for the status row.
      await eventually(
        async () => (await knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n,
        (n: number) => n >= 1,
        'the stop waiting for the status row',
        15_000,
        20,
      );
      // Then its history row (a foreign key to agents).
      await statusHistoryRepo(trx).append({ agent_id: id, event_type: 'health_changed', from_status: 'unknown', to_status: 'unknown', details: { note: 'concurrent status write' } });
    });
    await expect(write).resolves.toBeUndefined();
    const res = await stop!;
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.desired_state).toBe('stopped');
    const history = await knex('agent_status_history').where({ agent_id: id }).orderBy('id');
    expect(history.map((r: { event_type: string }) => r.event_type).slice(-2)).toEqual(['health_changed', 'stop_requested']);
  });
});
