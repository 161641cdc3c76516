// A throwaway PostgreSQL cluster for `npm test` when OPMAS_TEST_PG_URL is not given:
// initdb into a temp dir, postgres on a free loopback port, removed afterwards.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function findPgBin() {
  const base = '/usr/lib/postgresql';
  const fromPath = (name) => {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  if (fs.existsSync(base)) {
    const versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(base, versions[0], 'bin');
  }
  const initdb = fromPath('initdb');
  return initdb ? path.dirname(initdb) : undefined;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a cluster; returns {url, halt(), resume(), stop()}: halt and resume stop and start the
 * same server (an outage), stop removes it. Throws with an install hint when PostgreSQL is absent.
 */
export async function startThrowawayPostgres() {
  const bin = findPgBin();
  if (!bin) throw new Error('PostgreSQL is not installed: run `sudo apt-get install postgresql` (or set OPMAS_TEST_PG_URL to an admin URL)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-pg-'));
  const asRoot = process.getuid?.() === 0;
  // initdb and postgres refuse to run as root; run them as the postgres system user then.
  const run = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const [c1, a1] = run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  execFileSync(c1, a1, { stdio: 'ignore' });
  const port = await freePort();
  let child;
  let log = '';
  // Starts postgres on the data dir and port, and waits until it accepts connections.
  const launch = async () => {
    const [c2, a2] = run(path.join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200',
    ]);
    log = '';
    const proc = spawn(c2, a2, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr.on('data', (d) => (log += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (ok && log.includes('ready to accept connections')) break;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`PostgreSQL did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // runuser does not pass signals on, so ask pg_ctl (as the same user) to stop the server.
  const shutdown = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const [c3, a3] = run(path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-s']);
    try {
      execFileSync(c3, a3, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      proc.kill('SIGKILL');
    }
    await new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', r)));
  };
  await launch();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    /** Stops the server (fast shutdown: sessions are ended), keeping its data and port. */
    halt: shutdown,
    /** Starts a halted server again on the same data and port. */
    resume: launch,
    async stop() {
      await shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
