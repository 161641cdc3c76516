// electronegativity over the app: nothing but reviewed findings, and proof that the scan
// actually sees the window's settings and the page's CSP (weakened copies are caught).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { ACCEPTED, scanApp } from '../../scripts/electronegativity.mjs';

interface Finding {
  id: string;
  file: string;
  sample: string;
}
interface Report {
  checks: number;
  parseErrors: Array<{ file: string; message: string }>;
  accepted: Finding[];
  unaccepted: Finding[];
}
const scan = scanApp as (o?: { mutate?: (dir: string) => void }) => Promise<Report>;

function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`${file}: ${from} not found`);
  fs.writeFileSync(p, next);
}

describe('electronegativity', () => {
  it('finds nothing in the app beyond the reviewed, accepted findings, and each acceptance is still needed', async () => {
    const report = await scan();
    expect(report.checks).toBeGreaterThan(30);
    expect(report.parseErrors).toEqual([]);
    expect(report.unaccepted).toEqual([]);
    const acceptedIds = new Set(report.accepted.map((f) => `${f.id} ${f.file}`));
    expect([...acceptedIds].sort()).toEqual((ACCEPTED as Finding[]).map((a) => `${a.id} ${a.file}`).sort());
  });

  it('catches a window that drops the sandbox, context isolation or web security', async () => {
    const report = await scan({
      mutate: (dir) => {
        const file = 'src-main/windows/main-window.ts';
        edit(dir, file, 'sandbox: true,', 'sandbox: false,');
        edit(dir, file, 'contextIsolation: true,', 'contextIsolation: false,');
        edit(dir, file, 'webSecurity: true,', 'webSecurity: false,');
        edit(dir, file, "disableBlinkFeatures: 'Auxclick',", '');
      },
    });
    const ids = report.unaccepted.map((f) => f.id);
    for (const id of ['SANDBOX_JS_CHECK', 'CONTEXT_ISOLATION_JS_CHECK', 'WEB_SECURITY_JS_CHECK', 'AUXCLICK_JS_CHECK']) expect(ids, id).toContain(id);
  });

  it('catches a page policy that lets inline script run', async () => {
    const report = await scan({ mutate: (dir) => edit(dir, 'src-renderer/index.html', "script-src 'self';", "script-src 'self' 'unsafe-inline';") });
    expect(report.unaccepted.map((f) => `${f.id} ${f.file}`)).toContain('CSP_GLOBAL_CHECK src-renderer/index.html');
  });
});
