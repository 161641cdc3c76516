// An agent that fails at launch says why: the first and last lines of its stderr are stored in
// the exit record (`process_exited` details `stderr_tail`) and named in the status's last_error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_AGENTS, startSupervisedAms, type SupervisedAms } from '../helpers/supervised.js';
import { eventually } from '../helpers/wait.js';

let t: SupervisedAms;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startSupervisedAms(
    {
      crash: `${FIXTURE_AGENTS}/crash-on-start`,
      // The newcomer's failure: an agent whose SDK bundle is not where it looks.
      'missing-sdk': {
        name: 'MissingSdkAgent',
        version: '1.0.0',
        command: 'node agent.mjs',
        files: { 'agent.mjs': "await import('file:///nonexistent/opmas/agent-sdk/index.mjs');\n" },
      },
      // A flood of long lines: 9 MB of output in a moment, far past what one NATS message carries.
      loud: {
        name: 'LoudAgent',
        version: '1.0.0',
        command: 'node agent.mjs',
        files: {
          'agent.mjs': [
            "const line = 'y'.repeat(15_000);",
            'for (let i = 0; i < 600; i++) process.stdout.write(`${i} ${line}\\n`);',
            "process.stdout.write('loud: done\\n', () => { process.exitCode = 3; });",
          ].join('\n'),
        },
      },
      noisy: {
        name: 'NoisyAgent',
        version: '1.0.0',
        command: 'node agent.mjs',
        files: {
          'agent.mjs': [
            "process.stderr.write('\\u001b[33mbooting\\u001b[0m\\n');",
            "for (let i = 0; i < 5000; i++) process.stderr.write(`noise ${i}\\n`);",
            'process.stderr.write(Buffer.from([0xff, 0x00, 0x0a]));',
            "process.stderr.write('fatal: the rules file is unreadable\\n');",
            'process.exitCode = 2;',
          ].join('\n'),
        },
      },
    },
  );
  for (const name of ['CrashOnStartAgent', 'MissingSdkAgent', 'NoisyAgent', 'LoudAgent']) {
    ids[name] = await t.idOf(name);
    await t.setPolicy(ids[name], { auto_recovery: false });
  }
});
afterAll(() => t?.stop());

async function failedLaunch(id: string) {
  expect((await t.api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
  const status = await t.waitStatus(id, (s) => s.process_status === 'failed', 'failed');
  const exited = (await t.history(id)).filter((h) => h.event_type === 'process_exited');
  expect(exited).toHaveLength(1);
  return { status, details: exited[0].details as { exit_code: number; stderr_tail: string[] } };
}

describe('a launch that fails', () => {
  it("stores the agent's stderr lines in the exit record and names them in last_error", async () => {
    const { status, details } = await failedLaunch(ids.CrashOnStartAgent);
    expect(details.exit_code).toBe(1);
    expect(details.stderr_tail).toEqual(['crash-on-start: failing on purpose']);
    expect(status.last_error).toBe('the process exited with code 1; stderr: crash-on-start: failing on purpose');
  });

  it('says which module is missing when the SDK bundle cannot be loaded', async () => {
    const { status, details } = await failedLaunch(ids.MissingSdkAgent);
    expect(details.stderr_tail.join('\n')).toContain('/nonexistent/opmas/agent-sdk/index.mjs');
    expect(status.last_error).toMatch(/^the process exited with code 1; stderr: Error \[ERR_MODULE_NOT_FOUND\]: Cannot find module '\/nonexistent\/opmas\/agent-sdk\/index\.mjs'/);
  });

  it('keeps the first and last lines of a long, partly binary output, bounded and printable', async () => {
    const { status, details } = await failedLaunch(ids.NoisyAgent);
    expect(details.exit_code).toBe(2);
    const tail = details.stderr_tail;
    expect(tail[0]).toBe('booting');
    expect(tail.at(-1)).toBe('fatal: the rules file is unreadable');
    expect(tail.at(-2)).toBe('\ufffd\ufffd');
    expect(tail.length).toBeLessThanOrEqual(21);
    expect(tail.some((l) => /^… \d+ more (lines|bytes) …$/.test(l))).toBe(true);
    expect(status.last_error).toBe('the process exited with code 2; stderr: fatal: the rules file is unreadable');
    // Its lines are stored too; the NUL byte (which PostgreSQL text cannot hold) as U+FFFD.
    const stored = async () => (await t.ams.db.knex('agent_logs').where({ agent_id: ids.NoisyAgent }).select('message')).map((r: { message: string }) => r.message);
    const messages = await eventually(stored, (m) => m.includes('fatal: the rules file is unreadable'), 'the last line stored');
    expect(messages).toContain('\ufffd\ufffd');
    expect(messages.filter((m) => m.startsWith('noise '))).toHaveLength(5000);
  });

  it('journals a flood of long output lines in batches NATS can carry: every line stored, and the exit after them recorded', async () => {
    const { status } = await failedLaunch(ids.LoudAgent);
    expect(status.exit_code).toBe(3);
    const count = async () => Number((await t.ams.db.knex('agent_logs').where({ agent_id: ids.LoudAgent }).count({ n: '*' }).first())!.n);
    await eventually(count, (n) => n >= 601, 'every line stored');
    expect(await count()).toBe(601);
    expect(t.ams.supervisor!.journalStats()).toMatchObject({ dropped_log_lines: 0, oversized: 0 });
  });
});
