// The runtime boundaries are enforced by lint, not by convention.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('runtime boundaries', () => {
  it('forbid electron in server/', async () => {
    expect(await restrictedImports('server/example.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(1);
    expect(await restrictedImports('server/example.ts', "import fs from 'node:fs';\nexport const a = fs;\n")).toHaveLength(0);
  });

  it('forbid electron and Node built-ins in src-renderer/', async () => {
    for (const mod of ['electron', 'node:fs', 'fs', 'child_process', 'node:path']) {
      expect(await restrictedImports('src-renderer/src/example.ts', `import x from '${mod}';\nexport const a = x;\n`), mod).toHaveLength(1);
    }
    expect(await restrictedImports('src-renderer/src/example.ts', "import { useState } from 'react';\nexport const a = useState;\n")).toHaveLength(0);
  });

  it('forbid electron and Node built-ins in src-preload/console-api.ts (the renderer imports it)', async () => {
    for (const mod of ['electron', 'node:fs', 'path']) {
      expect(await restrictedImports('src-preload/console-api.ts', `import x from '${mod}';\nexport const a = x;\n`), mod).toHaveLength(1);
    }
  });

  it('let only server/db/ use knex (types aside)', async () => {
    expect(await restrictedImports('server/services/example.ts', "import knex from 'knex';\nexport const a = knex;\n")).toHaveLength(1);
    expect(await restrictedImports('server/services/example.ts', "import type { Knex } from 'knex';\nexport type A = Knex;\n")).toHaveLength(0);
    expect(await restrictedImports('server/db/example.repo.ts', "import knex from 'knex';\nexport const a = knex;\n")).toHaveLength(0);
  });

  it('keep routes away from the supervisor and the database layer', async () => {
    expect(await restrictedImports('server/api/example/routes.ts', "import { createHostSupervisor } from '../../supervisor/host-supervisor.js';\nexport const a = createHostSupervisor;\n")).toHaveLength(1);
    expect(await restrictedImports('server/api/example/routes.ts', "import { agentsRepo } from '../../db/agents.repo.js';\nexport const a = agentsRepo;\n")).toHaveLength(1);
    expect(await restrictedImports('server/api/example/routes.ts', "import { createAgentService } from '../../services/agents.js';\nexport const a = createAgentService;\n")).toHaveLength(0);
  });

  it('keep the supervisor away from the API, the services, the control plane and the database', async () => {
    for (const mod of ['../api/common.js', '../db/agents.repo.js', '../services/status.js', '../control/agent-specs.js']) {
      expect(await restrictedImports('server/supervisor/example.ts', `import * as x from '${mod}';\nexport const a = x;\n`), mod).toHaveLength(1);
    }
    expect(await restrictedImports('server/supervisor/example.ts', "import { subjects } from '../broker/subjects.js';\nexport const a = subjects;\n")).toHaveLength(0);
  });

  it('allow electron in src-main/', async () => {
    expect(await restrictedImports('src-main/example.ts', "import { app } from 'electron';\nexport const a = app;\n")).toHaveLength(0);
  });
});
