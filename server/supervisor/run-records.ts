// The supervisor's files per agent under <dataDir>/run/agents/ (0700): the `.creds` file the
// agent reads (0600, rewritten at every start), its stdout/stderr capture files, and the run
// record that lets an AMS that crashed or restarted recognise the process it left behind
// (PID, start time, command line) and continue reading its output where it stopped.
import fs from 'node:fs';
import path from 'node:path';
import { writeSecretFile } from '../broker/key-store.js';
import type { ProcessIdentity } from './proc-info.js';

export interface RunRecord extends ProcessIdentity {
  agent_id: string;
  /** ISO time the AMS saw the process start. */
  started_at: string;
  config_version: number | null;
  /** Bytes of each capture file already stored. */
  offsets: { stdout: number; stderr: number };
}

export interface AgentRunPaths {
  creds: string;
  record: string;
  stdout: string;
  stderr: string;
}

export type RunRecords = ReturnType<typeof createRunRecords>;

export function createRunRecords(dataDir: string) {
  const dir = path.join(dataDir, 'run', 'agents');
  const ensureDir = () => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  };

  const paths = (agentId: string): AgentRunPaths => ({
    creds: path.join(dir, `${agentId}.creds`),
    record: path.join(dir, `${agentId}.run.json`),
    stdout: path.join(dir, `${agentId}.stdout.log`),
    stderr: path.join(dir, `${agentId}.stderr.log`),
  });

  return {
    dir,
    paths,
    ensureDir,

    writeCreds(agentId: string, creds: string): string {
      ensureDir();
      const file = paths(agentId).creds;
      writeSecretFile(file, creds);
      return file;
    },

    write(record: RunRecord): void {
      ensureDir();
      writeSecretFile(paths(record.agent_id).record, `${JSON.stringify(record)}\n`);
    },

    read(agentId: string): RunRecord | undefined {
      try {
        return JSON.parse(fs.readFileSync(paths(agentId).record, 'utf8')) as RunRecord;
      } catch {
        return undefined;
      }
    },

    /** Every run record left in the directory (agents that were running when the AMS stopped). */
    all(): RunRecord[] {
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        return [];
      }
      const out: RunRecord[] = [];
      for (const name of names.filter((n) => n.endsWith('.run.json'))) {
        try {
          const record = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as RunRecord;
          if (record && typeof record.pid === 'number' && typeof record.agent_id === 'string') out.push(record);
        } catch {
          // A torn or foreign file: not ours to act on.
        }
      }
      return out;
    },

    /** Removes the run record and the creds file (the process is gone); the capture files stay for the next start. */
    remove(agentId: string): void {
      const p = paths(agentId);
      for (const file of [p.record, p.creds]) fs.rmSync(file, { force: true });
    },

    /** Removes everything of an agent (it was deleted). */
    purge(agentId: string): void {
      for (const file of Object.values(paths(agentId))) fs.rmSync(file, { force: true });
    },
  };
}
