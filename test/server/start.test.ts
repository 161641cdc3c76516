// `npm start` where Electron's binary is absent (or with --web): one clear line, then the
// same console served by the AMS as a web page at the printed URL.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/spawn-ams.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-start-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('npm start (web console fallback)', () => {
  it('says why in one line and serves the console at the printed URL', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts/start.mjs'), '--web', '--port', '0', '--data-dir', tempDir()], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        const m = /^opmas: console at (http:\/\/\S+)\/$/.exec(line);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`start exited ${code}: ${lines.join('\n')}`)));
    });
    try {
      expect(lines[0]).toMatch(/^opmas: serving the console as a web page/);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>OPMAS Console</title>');
      const deepLink = await fetch(`${url}/agents/some-id`);
      expect(await deepLink.text()).toContain('<div id="root">');
      expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
