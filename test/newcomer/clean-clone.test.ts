// The newcomer's path, guarded for good: the committed tree (git archive of HEAD) in an empty
// folder, `npm ci` offline from the local npm cache, then the README's `npm run serve` command
// as written. A sample agent started through the API becomes healthy and `/` serves the console:
// nothing may depend on a build or an agents directory left over in the developer's checkout.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, testPassword } from '../helpers/ams.js';
import { logFile, recordSecret } from '../helpers/secrets.js';
import { eventually } from '../helpers/wait.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-clean-clone-'));
const clone = path.join(work, 'opmas-console');
const dataDir = path.join(work, 'data');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let install: { status: number | null; output: string };
let serve: ChildProcess | undefined;

beforeAll(() => {
  fs.mkdirSync(clone);
  // Exactly what is committed: no node_modules, no out/, nothing ignored or untracked.
  const archive = execFileSync('git', ['-C', REPO, 'archive', '--format=tar', 'HEAD'], { maxBuffer: 512 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', clone], { input: archive });
  const res = spawnSync(npm, ['ci', '--offline', '--no-audit', '--no-fund'], {
    cwd: clone,
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', npm_config_update_notifier: 'false' },
  });
  install = { status: res.status, output: `${res.stdout}${res.stderr}${res.error?.message ?? ''}` };
}, 300_000);

afterAll(async () => {
  if (serve && serve.exitCode === null && serve.signalCode === null) {
    serve.kill('SIGKILL');
    await new Promise((r) => serve!.once('exit', r));
  }
  fs.rmSync(work, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a clean clone', () => {
  it('installs offline from the npm cache without an engine warning', () => {
    const hint = /ENOTCACHED/.test(install.output)
      ? "npm's cache lacks a package of the lockfile (ENOTCACHED): `npm ci` once with the network fills it (CI runs it first)\n"
      : '';
    expect(install.status, `${hint}${install.output.slice(-3000)}`).toBe(0);
    expect(install.output).not.toMatch(/EBADENGINE|Unsupported engine/);
    expect(fs.existsSync(path.join(clone, 'out'))).toBe(false);
  });

  it('serves the console and runs a sample agent with `npm run serve`, as the README says', async () => {
    expect(install.status).toBe(0);
    const password = testPassword();
    recordSecret(password);
    // The README's command, word for word, plus a free port and a fresh data dir.
    serve = spawn(npm, ['run', 'serve', '--', '--port', '0', '--data-dir', dataDir], {
      cwd: clone,
      env: { ...process.env, OPMAS_ADMIN_PASSWORD: password, OPMAS_AGENT_SDK: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    const log = fs.createWriteStream(logFile('clean-clone'));
    serve.stderr!.on('data', (d) => {
      stderr += d;
      log.write(d);
    });
    serve.once('exit', () => log.end());
    const stdout: string[] = [];
    let amsPid = 0;
    const url = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: serve!.stdout! }).on('line', (line) => {
        stdout.push(line);
        if (line.startsWith('{')) {
          const msg = JSON.parse(line) as { event: string; url: string; pid: number };
          if (msg.event === 'ready') {
            amsPid = msg.pid;
            resolve(msg.url);
          }
        }
      });
      serve!.once('exit', (code) => reject(new Error(`npm run serve exited with ${code} before ready:\n${stderr.slice(-3000)}`)));
    });
    // stdout holds npm's own header and the ready line, nothing else.
    expect(stdout.filter((l) => l.trim() !== '' && !l.startsWith('> '))).toEqual([expect.stringMatching(/^\{"event":"ready","url":"http:\/\/127\.0\.0\.1:\d+","pid":\d+\}$/)]);

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>OPMAS Console</title>');

    const api = apiClient(url, (await login(url, 'admin', password)).access_token);
    // The sample agents were copied into the new agents directory under the data dir.
    expect(fs.existsSync(path.join(dataDir, 'agents/security/.env.discovery'))).toBe(true);
    const agents = await eventually(() => api.get('/api/v1/agents'), (r) => r.body.items?.some((a: { agent_name: string }) => a.agent_name === 'SecurityAgent'), 'the sample agents registered', 60_000);
    const id = agents.body.items.find((a: { agent_name: string }) => a.agent_name === 'SecurityAgent').id as string;
    expect((await api.put(`/api/v1/agents/${id}/config`, { heartbeat_interval: 1 })).status).toBe(200);
    expect((await api.post(`/api/v1/agents/${id}/start`)).status).toBe(202);
    const status = await eventually(
      () => api.get(`/api/v1/agents/${id}/status`),
      (r) => r.body.health_status === 'healthy' || r.body.process_status === 'failed',
      'the sample agent healthy',
      60_000,
    );
    expect(status.body.last_error).toBeNull();
    expect(status.body).toMatchObject({ process_status: 'running', health_status: 'healthy' });
    expect((await api.get('/api/v1/packages/directory')).body.path).toBe(path.join(dataDir, 'agents'));

    // Ctrl+C (SIGINT to the whole npm process group) stops the AMS cleanly: it releases its
    // data dir lock, which only a graceful close does. npm itself dies of the signal.
    process.kill(-serve.pid!, 'SIGINT');
    await new Promise((r) => serve!.once('exit', r));
    await eventually(async () => alive(amsPid), (a) => !a, 'the AMS process to end', 30_000);
    expect(fs.existsSync(path.join(dataDir, 'ams.lock'))).toBe(false);
  });
});
