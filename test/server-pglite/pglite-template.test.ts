// The migrated PGlite database shipped with the app (PGlite only: test/server-pglite runs in the
// PGlite pass of the server suite): a first start loads it (and reports so), with every
// migration applied and nothing of another installation in it; a template made from other
// migrations is not used; a load cut short is started over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/database.js';
import { migrationStatus } from '../../server/db/migrate.js';
import { currentManifest, manifestPathOf } from '../../server/db/pglite-template.js';
import { buildPgliteTemplate } from '../../scripts/build-pglite-template.js';

const dirs: string[] = [];
const tempDir = (p: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), p));
  dirs.push(d);
  return d;
};
let template: string;

beforeAll(async () => {
  template = await buildPgliteTemplate(tempDir('opmas-template-out-'));
}, 180_000);
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('the shipped PGlite template', () => {
  it('a first start loads it migrated and empty; the next start opens it; a misfit template is not used', async () => {
    const dataDir = tempDir('opmas-template-data-');
    const first = await openDatabase({ dataDir, pgliteTemplate: template });
    try {
      expect(first.origin).toBe('template');
      expect((await migrationStatus(first.knex)).pending).toEqual([]);
      for (const table of ['agents', 'users', 'refresh_tokens', 'audit_log', 'metric_rollups_1m']) {
        expect(Number((await first.knex(table).count({ n: '*' }).first())!.n), table).toBe(0);
      }
      expect((await first.knex.raw(`SELECT similarity('abc', 'abd') AS s`)).rows[0].s).toBeGreaterThan(0);
    } finally {
      await first.close();
    }
    const second = await openDatabase({ dataDir, pgliteTemplate: template });
    expect(second.origin).toBe('opened');
    await second.close();

    // A template whose manifest names a migration this AMS does not have is left alone.
    const misfit = path.join(tempDir('opmas-template-misfit-'), 'pglite-template.tgz');
    fs.copyFileSync(template, misfit);
    fs.writeFileSync(manifestPathOf(misfit), JSON.stringify({ ...currentManifest(), migrations: [...currentManifest().migrations, '20991231000000_from_the_future'] }));
    const other = await openDatabase({ dataDir: tempDir('opmas-template-data-'), pgliteTemplate: misfit });
    expect(other.origin).toBe('created');
    await other.close();
  }, 120_000);

  it('a load cut short (the marker left behind) is started over rather than opened', async () => {
    const dataDir = tempDir('opmas-template-cut-');
    // As if the AMS was killed while loading: a partial directory and the marker beside it.
    fs.mkdirSync(path.join(dataDir, 'db'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'db', 'PG_VERSION'), '18\n');
    fs.writeFileSync(path.join(dataDir, 'db.loading'), '');
    const db = await openDatabase({ dataDir, pgliteTemplate: template });
    try {
      expect(db.origin).toBe('template');
      expect((await migrationStatus(db.knex)).pending).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, 'db.loading'))).toBe(false);
    } finally {
      await db.close();
    }
  }, 120_000);
});
