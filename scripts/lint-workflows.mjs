#!/usr/bin/env node
// Checks every GitHub Actions workflow against the workflow schema (@action-validator/core,
// WebAssembly, offline), so a typo in .github/workflows fails here and not only on GitHub.
import fs from 'node:fs';
import path from 'node:path';
import { validateWorkflow } from '@action-validator/core';

const dir = path.resolve(import.meta.dirname, '../.github/workflows');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
if (files.length === 0) {
  console.error('lint-workflows: no workflow under .github/workflows');
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  const result = validateWorkflow(fs.readFileSync(path.join(dir, file), 'utf8'));
  const problems = [...(result.errors ?? [])];
  if (problems.length === 0) {
    console.log(`lint-workflows: ${file} ok`);
    continue;
  }
  failed++;
  console.error(`lint-workflows: ${file}:`);
  for (const p of problems) console.error(`  ${p.path ?? ''} ${p.title ?? ''}${p.detail ? `: ${p.detail}` : ''}`.trimEnd());
}
process.exit(failed > 0 ? 1 : 0);
