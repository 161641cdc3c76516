// One bad .env.discovery file never stops discovery: a NUL byte, invalid UTF-8, control
// characters, a duplicate key or an over-long field make that package invalid with the reason,
// and the scan goes on to register the packages after it and to mark removed ones. Hidden
// (dot-prefixed) folders are reported as ignored, with the reason.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAms, type TestAms } from '../helpers/ams.js';
import { validPackage, writePackage } from '../helpers/packages.js';
import { eventually } from '../helpers/wait.js';

let t: TestAms;
let agentsDir: string;

interface PackageView {
  path: string;
  status: string;
  reasons: string[];
  agent_id: string | null;
  agent_name: string | null;
  fields: Record<string, string>;
}

async function packages(): Promise<Record<string, PackageView>> {
  const res = await t.api.get('/api/v1/packages?limit=500');
  expect(res.status).toBe(200);
  return Object.fromEntries(res.body.items.map((p: PackageView) => [p.path, p]));
}

/** A package folder whose .env.discovery holds exactly `bytes`. */
function writeRaw(folder: string, bytes: Buffer | string): void {
  const dir = path.join(agentsDir, folder);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'agent.mjs'), '');
  fs.writeFileSync(path.join(dir, '.env.discovery'), bytes);
}

const valid = (name: string) => `AGENT_NAME=${name}\nAGENT_VERSION=1.0.0\nAGENT_COMMAND=node agent.mjs\n`;

beforeAll(async () => {
  agentsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-agents-text-'));
  writeRaw('a-nul', `${valid('NulAgent')}AGENT_DESCRIPTION=before\u0000after\n`);
  writeRaw('b-not-utf8', Buffer.concat([Buffer.from(valid('Latin1Agent')), Buffer.from('AGENT_DESCRIPTION=caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  writeRaw('c-escape', `${valid('EscapeAgent')}AGENT_DESCRIPTION=\u001b[31mred\u001b[0m\n`);
  writeRaw('d-duplicate', `${valid('DupAgent')}AGENT_TYPE=dup\n# again\nAGENT_NAME=OtherName\n`);
  writeRaw('e-long', `AGENT_NAME=${'N'.repeat(300)}\nAGENT_VERSION=1.0.0-${'x'.repeat(100)}\nAGENT_TYPE=${'t'.repeat(80)}\nAGENT_COMMAND=node agent.mjs\n`);
  writeRaw('f-tab', `${valid('TabAgent')}AGENT_DESCRIPTION=tab\there\n`);
  writePackage(agentsDir, '.hidden', validPackage('HiddenAgent'));
  fs.mkdirSync(path.join(agentsDir, '.git'));
  fs.writeFileSync(path.join(agentsDir, '.DS_Store'), 'not a folder');
  writePackage(agentsDir, 'z-last', validPackage('LastAgent'));
  writePackage(agentsDir, 'z-removed-later', validPackage('RemovedLater'));
  t = await startTestAms({ settings: { agentsDir } });
});
afterAll(async () => {
  await t.stop();
  fs.rmSync(agentsDir, { recursive: true, force: true });
});

describe('packages judged one by one', () => {
  it('registers the packages after a bad one and reports each bad one with its reason', async () => {
    const p = await packages();
    expect(p['z-last']).toMatchObject({ status: 'registered', agent_id: expect.any(String) });
    expect(p['f-tab']).toMatchObject({ status: 'registered', fields: expect.objectContaining({ AGENT_DESCRIPTION: 'tab\there' }) });
    expect(p['a-nul']).toMatchObject({ status: 'invalid', reasons: ['.env.discovery contains a NUL byte on line 4'], fields: {} });
    expect(p['b-not-utf8']).toMatchObject({ status: 'invalid', reasons: ['.env.discovery is not valid UTF-8 text (line 4)'], fields: {} });
    expect(p['c-escape']).toMatchObject({ status: 'invalid', reasons: ['.env.discovery contains the control character U+001B on line 4'] });
    expect(p['d-duplicate']).toMatchObject({ status: 'invalid', reasons: ['AGENT_NAME is set twice, on line 1 and on line 6'] });
    expect(p['e-long'].status).toBe('invalid');
    expect(p['e-long'].reasons).toEqual(expect.arrayContaining(['AGENT_NAME is longer than 64 characters', 'AGENT_VERSION is longer than 64 characters', 'AGENT_TYPE is longer than 50 characters']));
    expect(p['e-long'].agent_name).toHaveLength(64);

    const scan = await t.api.get('/api/v1/packages/scans/latest');
    expect(scan.body).toMatchObject({ status: 'completed', error: null, counts: { registered: 3, invalid: 5, ignored: 2 } });
    const agents = (await t.api.get('/api/v1/agents?limit=500')).body.items.map((a: { agent_name: string }) => a.agent_name).sort();
    expect(agents).toEqual(['LastAgent', 'RemovedLater', 'TabAgent']);
  });

  it('reports dot-prefixed folders as ignored, with the reason, and never reads them', async () => {
    const p = await packages();
    for (const hidden of ['.hidden', '.git']) {
      expect(p[hidden]).toMatchObject({ status: 'ignored', agent_id: null, agent_name: null, fields: {} });
      expect(p[hidden].reasons).toEqual([expect.stringContaining('starts with a dot')]);
    }
    expect(p['.DS_Store']).toBeUndefined();
    const ignored = await t.api.get('/api/v1/packages?status=ignored');
    expect(ignored.body.items.map((x: PackageView) => x.path)).toEqual(['.git', '.hidden']);
  });

  it('keeps scanning while a bad package stays: a removed package is marked removed, a fixed one is registered', async () => {
    fs.rmSync(path.join(agentsDir, 'z-removed-later'), { recursive: true });
    writeRaw('a-nul', valid('NulAgent'));
    const p = await eventually(packages, (x) => x['z-removed-later']?.status === 'removed' && x['a-nul']?.status === 'registered', 'the next scan');
    expect(p['b-not-utf8'].status).toBe('invalid');
    expect((await t.api.get('/api/v1/packages/scans/latest')).body.status).toBe('completed');
  });
});
