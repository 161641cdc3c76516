// Host mode launcher against the real AMS entry (server/main.ts through tsx), forked with
// child_process.fork: ready, crash -> restart with backoff, stability reset, graceful stop,
// giving up, and where the per-launch secret may and may not appear.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { forkWithNode, type ForkProcess } from '../../src-main/host/fork.js';
import { createHostLauncher, generateHostSecret, HOST_SECRET_ENV, type HostLauncher, type HostLauncherOptions } from '../../src-main/host/host-launcher.js';
import type { HostState } from '../../src-preload/console-api.js';
import { amsEnv, filesContaining, isAlive, recordEvents, removeTempDirs, SERVER_ENTRY, tempDir, TSX } from './helpers.js';

const PARENT_PORT_SHIM = path.join(import.meta.dirname, 'fixtures/electron-parent-port.mjs');
const launchers: HostLauncher[] = [];
afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.stop()));
});
afterAll(removeTempDirs);

function launcher(opts: Partial<HostLauncherOptions> = {}) {
  const l = createHostLauncher({
    forkProcess: forkWithNode,
    serverEntry: SERVER_ENTRY,
    execArgv: TSX,
    dataDir: tempDir('opmas-host-'),
    secret: generateHostSecret(),
    env: amsEnv(),
    ...opts,
    policy: { initialDelayMs: 200, factor: 2, maxDelayMs: 5000, stableAfterMs: 60_000, ...opts.policy },
  });
  launchers.push(l);
  return l;
}

describe('host launcher', () => {
  it('starts the AMS, reports it running, and passes the secret in the environment only', async () => {
    const secret = generateHostSecret();
    const dataDir = tempDir('opmas-host-');
    const env = amsEnv();
    const logs: string[] = [];
    const host = launcher({ secret, dataDir, env, onLog: (line) => logs.push(line) });
    const states: HostState['status'][] = [];
    host.onState((s) => states.push(s.status));

    const [url, again] = await Promise.all([host.start(), host.start()]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(again).toBe(url);
    expect(await host.start()).toBe(url);
    const state = host.state();
    expect(state).toMatchObject({ status: 'running', url, attempt: 0, lastError: null });
    expect(states[0]).toBe('starting');
    expect(states.at(-1)).toBe('running');
    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { components: { ams: { pid: number } } }).components.ams.pid).toBe(state.pid);

    // The secret reached the AMS through its environment...
    const environ = fs.readFileSync(`/proc/${state.pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`${HOST_SECRET_ENV}=${secret}`);
    // ...and nowhere else: not in its argv, not in this process's environment, not on disk.
    const cmdline = fs.readFileSync(`/proc/${state.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('--data-dir');
    expect(cmdline).not.toContain(secret);
    expect(process.env[HOST_SECRET_ENV]).toBeUndefined();
    expect(fs.readdirSync(dataDir).length).toBeGreaterThan(0);
    expect(filesContaining(dataDir, secret)).toEqual([]);
    expect(filesContaining(env.TMPDIR!, secret)).toEqual([]);
    // ...and not in the AMS's logs.
    expect(logs.some((l) => l.includes('AMS listening'))).toBe(true);
    expect(logs.filter((l) => l.includes(secret))).toEqual([]);
  });

  it('restarts a crashed AMS with exponential backoff on the same port', async () => {
    const host = launcher();
    const rec = recordEvents(host);
    const url = await host.start();
    const firstPid = host.state().pid!;

    const firstRestart = rec.next('ready');
    process.kill(firstPid, 'SIGKILL');
    const ready1 = await firstRestart;
    const secondPid = host.state().pid!;
    expect(secondPid).not.toBe(firstPid);
    expect(ready1.url).toBe(url);

    const secondRestart = rec.next('ready');
    process.kill(secondPid, 'SIGKILL');
    await secondRestart;
    expect(host.state()).toMatchObject({ status: 'running', url, attempt: 2 });

    const exits = rec.events.filter((e) => e.type === 'exit');
    expect(exits.map((e) => [e.pid, e.signal, e.expected])).toEqual([
      [firstPid, 'SIGKILL', false],
      [secondPid, 'SIGKILL', false],
    ]);
    const scheduled = rec.events.filter((e) => e.type === 'restart-scheduled');
    expect(scheduled.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 200],
      [2, 400],
    ]);
    // Each respawn came no earlier than its scheduled delay after the crash.
    const spawns = rec.events.filter((e) => e.type === 'spawn').slice(1);
    expect(spawns).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      expect(spawns[i].at - exits[i].at).toBeGreaterThanOrEqual(scheduled[i].delayMs);
      expect(spawns[i].port).toBe(Number(new URL(url).port));
    }
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
  });

  it('forgets earlier crashes once the AMS has stayed up for the stability window', async () => {
    const host = launcher({ policy: { stableAfterMs: 250 } });
    const rec = recordEvents(host);
    await host.start();
    let stable = rec.next('stable');
    let ready = rec.next('ready');
    await stable;
    process.kill(host.state().pid!, 'SIGKILL');
    await ready;
    expect(host.state().attempt).toBe(1);

    stable = rec.next('stable');
    await stable;
    expect(host.state().attempt).toBe(0);
    ready = rec.next('ready');
    process.kill(host.state().pid!, 'SIGKILL');
    await ready;
    const scheduled = rec.events.filter((e) => e.type === 'restart-scheduled');
    expect(scheduled.map((e) => e.attempt)).toEqual([1, 1]);
  });

  it('stops the AMS gracefully and does not restart it', async () => {
    const dataDir = tempDir('opmas-host-');
    const host = launcher({ dataDir });
    const rec = recordEvents(host);
    await host.start();
    const pid = host.state().pid!;
    expect(fs.existsSync(path.join(dataDir, 'ams.lock'))).toBe(true);

    await host.stop();
    expect(host.state()).toMatchObject({ status: 'stopped', url: null, pid: null });
    const exit = rec.events.find((e) => e.type === 'exit');
    expect(exit).toMatchObject({ pid, code: 0, signal: null, expected: true });
    expect(rec.events.some((e) => e.type === 'restart-scheduled')).toBe(false);
    expect(isAlive(pid)).toBe(false);
    // A graceful stop released the data dir lock.
    expect(fs.existsSync(path.join(dataDir, 'ams.lock'))).toBe(false);

    // It can be started again on the same data dir.
    const url = await host.start();
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
  });

  it("talks to the AMS through Electron's parentPort alone (utilityProcess), and the secret buys a host session", async () => {
    // The parent side of the envelope test/desktop/fixtures/electron-parent-port.mjs speaks.
    const viaParentPort: ForkProcess = (modulePath, args, options) => {
      const proc = forkWithNode(modulePath, args, { ...options, execArgv: [...(options.execArgv ?? []), '--import', PARENT_PORT_SHIM] });
      return {
        get pid() {
          return proc.pid;
        },
        send: (message) => proc.send({ parentPort: message }),
        terminate: () => proc.terminate(),
        forceKill: () => proc.forceKill(),
        onMessage: (listener) =>
          proc.onMessage((m) => {
            if (m !== null && typeof m === 'object' && 'parentPort' in m) listener((m as { parentPort: unknown }).parentPort);
          }),
        onExit: (listener) => proc.onExit(listener),
        onStderrLine: (listener) => proc.onStderrLine(listener),
      };
    };
    const secret = generateHostSecret();
    const logs: string[] = [];
    const host = launcher({ forkProcess: viaParentPort, secret, onLog: (line) => logs.push(line) });
    const rec = recordEvents(host);
    const url = await host.start();
    const pid = host.state().pid!;
    expect(host.state()).toMatchObject({ status: 'running', url });

    const session = await fetch(`${url}/api/v1/auth/host-session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret }) });
    expect(session.status).toBe(200);
    const { access_token } = (await session.json()) as { access_token: string };
    const me = await fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(await me.json()).toMatchObject({ username: 'local-admin', role: 'admin' });

    // The shutdown request arrives through parentPort: a graceful exit, not a signal.
    await host.stop();
    expect(rec.events.find((e) => e.type === 'exit')).toMatchObject({ pid, code: 0, signal: null, expected: true });
    expect(logs.some((l) => l.includes('"signal":"ipc"') && l.includes('stopping'))).toBe(true);
    expect(isAlive(pid)).toBe(false);
  });

  it('kills an AMS that ignores the shutdown request after the stop timeout', async () => {
    const host = launcher({
      serverEntry: path.join(import.meta.dirname, 'fixtures/stubborn-ams.mjs'),
      execArgv: [],
      env: amsEnv({ STUBBORN_MODE: 'ignore-shutdown' }),
      policy: { stopTimeoutMs: 300 },
    });
    const rec = recordEvents(host);
    await host.start();
    const pid = host.state().pid!;
    await host.stop();
    expect(rec.events.find((e) => e.type === 'exit')).toMatchObject({ pid, signal: 'SIGKILL', expected: true });
    expect(host.state().status).toBe('stopped');
  });

  it('gives up after too many failed starts and says why', async () => {
    const host = launcher({ extraArgs: ['--log-level', 'loud'], policy: { initialDelayMs: 50, maxAttempts: 2 } });
    const rec = recordEvents(host);
    await expect(host.start()).rejects.toThrow(/failed 3 times in a row; last: the AMS \(before it was ready\) exited with code 2: opmas-ams: --log-level must be one of/);
    expect(host.state()).toMatchObject({ status: 'failed', url: null, pid: null });
    expect(rec.events.map((e) => e.type)).toEqual(['spawn', 'exit', 'restart-scheduled', 'spawn', 'exit', 'restart-scheduled', 'spawn', 'exit', 'failed']);
    expect(rec.events.filter((e) => e.type === 'restart-scheduled').map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 50],
      [2, 100],
    ]);
  });

  it('counts a start that never reports ready as a failure', async () => {
    const host = launcher({
      serverEntry: path.join(import.meta.dirname, 'fixtures/stubborn-ams.mjs'),
      execArgv: [],
      env: amsEnv({ STUBBORN_MODE: 'silent' }),
      policy: { readyTimeoutMs: 300, maxAttempts: 0 },
    });
    await expect(host.start()).rejects.toThrow(/failed 1 time in a row; last: the AMS did not report ready within 300 ms/);
    expect(host.state()).toMatchObject({ status: 'failed', lastError: 'the AMS did not report ready within 300 ms' });
  });
});
