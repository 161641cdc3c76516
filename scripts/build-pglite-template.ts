// Builds the migrated PGlite database the app ships (server/db/pglite-template.ts): a fresh
// PGlite data directory with every migration applied, dumped as PGlite's gzip tarball with its
// manifest. It is made once per PGlite version and migration list (cached under
// node_modules/.cache) and copied to `outDir` on every build.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { openDatabase } from '../server/db/database.js';
import { migrateLatest } from '../server/db/migrate.js';
import { currentManifest, manifestPathOf, type TemplateManifest } from '../server/db/pglite-template.js';

export const TEMPLATE_FILE = 'pglite-template.tgz';
const repoRoot = path.resolve(import.meta.dirname, '..');

/** Makes (or reuses) the template and copies it with its manifest into `outDir`; answers the tarball's path there. */
export async function buildPgliteTemplate(outDir: string, root = repoRoot): Promise<string> {
  const cacheDir = path.join(root, 'node_modules/.cache/opmas');
  const cached = path.join(cacheDir, TEMPLATE_FILE);
  const manifest = currentManifest();
  const fresh = (() => {
    try {
      return JSON.stringify(JSON.parse(fs.readFileSync(manifestPathOf(cached), 'utf8')) as TemplateManifest) === JSON.stringify(manifest) && fs.existsSync(cached);
    } catch {
      return false;
    }
  })();
  if (!fresh) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-pglite-template-'));
    try {
      const db = await openDatabase({ dataDir: work });
      await migrateLatest(db.knex);
      await db.close();
      const pg = await PGlite.create(path.join(work, 'db'), { extensions: { pg_trgm } });
      const dump = await pg.dumpDataDir('gzip');
      await pg.close();
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.writeFileSync(cached, Buffer.from(await dump.arrayBuffer()));
      fs.writeFileSync(manifestPathOf(cached), `${JSON.stringify(manifest, null, 2)}\n`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  fs.mkdirSync(outDir, { recursive: true });
  const target = path.join(outDir, TEMPLATE_FILE);
  fs.copyFileSync(cached, target);
  fs.copyFileSync(manifestPathOf(cached), manifestPathOf(target));
  return target;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const out = await buildPgliteTemplate(path.join(repoRoot, 'out/main'));
  console.log(`PGlite template: ${path.relative(repoRoot, out)}`);
}
