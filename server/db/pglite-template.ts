// The migrated PGlite database the app ships (built with the app: scripts/build-pglite-template.ts),
// so that a first start loads it instead of creating and migrating a database (seconds of
// initdb in WebAssembly). A template is used only when it was made from the PGlite version
// that runs and from migrations this AMS has (its list a prefix of ours); the rest are applied
// as on any start.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { migrations } from '../../migrations/index.js';

export interface TemplateManifest {
  pglite: string;
  migrations: string[];
}

/** `<name>.tgz` (PGlite's dumpDataDir, gzip) beside `<name>.json` (its manifest). */
export const manifestPathOf = (tarball: string) => tarball.replace(/\.tgz$/, '.json');

/** The version of the PGlite package this process loads. */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = path.dirname(entry);
  for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const parsed = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === '@electric-sql/pglite' && parsed.version) return parsed.version;
    }
  }
  return 'unknown';
}

export function currentManifest(): TemplateManifest {
  return { pglite: pgliteVersion(), migrations: migrations.map((m) => m.name) };
}

/** Whether a template made with `made` can start a database of this AMS. */
export function templateFits(made: TemplateManifest, now: TemplateManifest = currentManifest()): boolean {
  return made.pglite === now.pglite && made.migrations.length <= now.migrations.length && made.migrations.every((m, i) => now.migrations[i] === m);
}

/** The template's bytes when the file and its manifest exist and fit; undefined otherwise. */
export function readTemplate(tarball: string | undefined): Uint8Array | undefined {
  if (!tarball) return undefined;
  try {
    const manifest = JSON.parse(fs.readFileSync(manifestPathOf(tarball), 'utf8')) as TemplateManifest;
    return templateFits(manifest) ? fs.readFileSync(tarball) : undefined;
  } catch {
    return undefined;
  }
}
