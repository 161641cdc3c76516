#!/usr/bin/env node
// `npm run security:electron`: runs @doyensec/electronegativity over the desktop app's sources
// (main, preload, shared types, renderer, package.json) and fails on any finding that is not
// in ACCEPTED below, each of which says why it is accepted. Also used by
// test/desktop/electronegativity.test.ts. (The package's CLI does not parse its options with
// the commander version npm hoists here, so this calls its runner directly.)
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
export const ROOT = path.resolve(import.meta.dirname, '..');
export const APP_PARTS = ['src-main', 'src-preload', 'src-renderer', 'package.json'];

/** Checks not run: this one downloads Electron's release list (CI has no internet; `npm outdated` covers it). */
export const EXCLUDED_CHECKS = ['AvailableSecurityFixesGlobalCheck'];

/** Findings that were reviewed and accepted, by check id and file (and `when`, if given, on the finding). */
export const ACCEPTED = [
  {
    id: 'PRELOAD_JS_CHECK',
    file: 'src-main/windows/main-window.ts',
    reason: 'The preload runs sandboxed with context isolation and exposes one object of named verbs built from declared channels (src-preload/api.ts); no Node API and no raw ipcRenderer reach the page.',
  },
  {
    id: 'OPEN_EXTERNAL_JS_CHECK',
    file: 'src-main/index.ts',
    reason: 'shell.openExternal is only called by hardenWebContents with URLs that decideWindowOpen accepted: http(s), no embedded credentials, from a link the user opened in a new tab (windows/security.ts, tested).',
  },
  {
    id: 'CSP_GLOBAL_CHECK',
    file: 'src-renderer/index.html',
    reason: "csp-evaluator's only remark on the page's meta policy is that script-src 'self' is risky where 'self' hosts JSONP or uploads; in the app 'self' is opmas://console, which serves only the bundled renderer, and the stricter header policy from console-protocol.ts applies on top.",
    // Only while script-src is exactly 'self'.
    when: (f) => /(^|;)\s*script-src 'self'\s*(;|$)/.test(f.sample) && !/unsafe-/.test(f.sample.match(/script-src[^;]*/)?.[0] ?? ''),
  },
  {
    id: 'ELECTRON_VERSION_JSON_CHECK',
    file: 'package.json',
    reason: 'Informational: reports the Electron version in use.',
  },
];

/**
 * Copies the app's sources to a temp dir (optionally changed by `mutate(dir)`), scans them and
 * sorts the findings into accepted and unaccepted.
 */
export async function scanApp({ mutate } = {}) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-electronegativity-'));
  try {
    for (const part of APP_PARTS) fs.cpSync(path.join(ROOT, part), path.join(stage, part), { recursive: true });
    if (mutate) mutate(stage);
    const run = require('@doyensec/electronegativity');
    const result = await run({ input: stage, isRelative: true, excludeFromScan: EXCLUDED_CHECKS });
    const findings = result.issues.map((i) => ({
      id: i.id,
      file: i.file,
      line: i.location.line,
      sample: String(i.sample ?? '').slice(0, 400),
      description: i.description,
      severity: i.severity.name,
      confidence: i.confidence.name,
    }));
    const acceptedFor = (f) => ACCEPTED.find((a) => a.id === f.id && a.file === f.file && (!a.when || a.when(f)));
    return {
      checks: result.globalChecks + result.atomicChecks,
      parseErrors: result.errors.filter((e) => !e.tolerable).map((e) => ({ file: path.relative(stage, e.file), message: e.message })),
      accepted: findings.filter(acceptedFor).map((f) => ({ ...f, reason: acceptedFor(f).reason })),
      unaccepted: findings.filter((f) => !acceptedFor(f)),
    };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await scanApp();
  console.log(`electronegativity: ${report.checks} checks over ${APP_PARTS.join(', ')}`);
  for (const f of report.accepted) console.log(`  accepted  ${f.id} ${f.file}:${f.line}\n            ${f.reason}`);
  for (const f of report.unaccepted) console.log(`  FINDING   ${f.id} ${f.file}:${f.line} [${f.severity}/${f.confidence}] ${f.description}\n            ${f.sample.slice(0, 160)}`);
  for (const e of report.parseErrors) console.log(`  NOT SCANNED ${e.file}: ${e.message}`);
  if (report.unaccepted.length || report.parseErrors.length) {
    console.error('electronegativity: fix the findings above or accept them with a reason in scripts/electronegativity.mjs');
    process.exit(1);
  }
  console.log('electronegativity: no unaccepted findings');
}
