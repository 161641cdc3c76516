// A real HAProxy (Debian's) as a load balancer in front of one AMS address, as a cluster runs it
// (deploy/haproxy.cfg): when nothing answers behind it, it answers 503 itself (text/html).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { eventually } from '../../helpers/wait.js';

export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

/** A port nothing listens on (bound and released): a URL there does not answer. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startLoadBalancer(dir: string, backendPort: number): Promise<LoadBalancer> {
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(
    cfg,
    [
      'global',
      '    maxconn 200',
      'defaults',
      '    mode http',
      '    timeout connect 2s',
      '    timeout client 30s',
      '    timeout server 30s',
      '    retries 1',
      'frontend opmas',
      `    bind 127.0.0.1:${port}`,
      '    default_backend ams',
      'backend ams',
      `    server api-1 127.0.0.1:${backendPort}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
      return fetch(`${url}/api/v1/health`).then(
        (r) => r.status,
        () => 0,
      );
    },
    (status) => status !== 0,
    'haproxy to listen',
  );
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
