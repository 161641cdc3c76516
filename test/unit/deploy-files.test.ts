// The deployment files under deploy/ (containers cannot be pulled here, so they are checked by
// parsing): every flag and OPMAS_* variable they use is one the AMS reads, the compose topology is
// the seed's (3 API replicas, 2 supervisors, PostgreSQL, 3 NATS nodes, a load balancer), every
// generated file they mount is one `npm run nats-config` writes, the HAProxy config is valid to
// haproxy itself, and the generated node configs are valid to nats-server.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS_FLAGS } from '../../server/settings.js';
import { LIVE_PATH } from '../../server/live/stream.js';
import { exampleNodeConfigs, parseNatsConfigArgs, writeNatsConfig, type NatsConfigOptions } from '../../scripts/nats-config.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(REPO, 'deploy');
const read = (f: string) => fs.readFileSync(path.join(REPO, f), 'utf8');

/** The generator command deploy/compose.yaml documents (its mounts are checked against what it writes). */
const COMPOSE_GENERATOR_ARGS = [
  '--nodes', '3', '--out', 'deploy/generated', '--hosts', 'host-1,host-2', '--host', '0.0.0.0', '--node-hosts', 'nats-1,nats-2,nats-3',
  '--monitor-base-port', '8222', '--jetstream-dir', '/data', '--install-dir', '/etc/opmas',
];

/** Every OPMAS_* name the server sources mention: what some part of the AMS reads. */
function variablesReadByTheCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\bOPMAS_[A-Z0-9_]+\b/g)) names.add(m[0]);
    }
  };
  walk(path.join(REPO, 'server'));
  return names;
}

const KNOWN_VARIABLES = variablesReadByTheCode();
const KNOWN_FLAGS = new Set(Object.keys(SETTINGS_FLAGS));
const variablesIn = (text: string) => [...new Set([...text.matchAll(/\bOPMAS_[A-Z0-9_]+\b/g)].map((m) => m[0]))];
/** `--flag` words of an AMS command line (its arguments after server.js). */
const flagsIn = (args: string[]) => args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]);

interface ComposeService {
  image?: string;
  command?: string[];
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  depends_on?: string[] | Record<string, unknown>;
}

let compose: { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
let generated: string;
let composeOptions: NatsConfigOptions;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'opmas-deploy-'));

beforeAll(async () => {
  compose = parseYaml(read('deploy/compose.yaml'), { merge: true }) as typeof compose;
  generated = path.join(work, 'generated');
  const parsed = parseNatsConfigArgs(COMPOSE_GENERATOR_ARGS);
  if (parsed === 'help') throw new Error('unexpected help');
  composeOptions = parsed;
  await writeNatsConfig({ ...parsed, out: generated });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const roleOf = (s: ComposeService) => (s.command && s.command[s.command.indexOf('--role') + 1]) ?? undefined;
const servicesWithRole = (role: string) => Object.entries(compose.services).filter(([, s]) => s.command?.includes('--role') && roleOf(s) === role);
const generatedMounts = (s: ComposeService) =>
  (s.volumes ?? []).filter((v) => v.startsWith('./generated/')).map((v) => {
    const [from, to] = v.split(':');
    return { file: from.slice('./generated/'.length), to };
  });

describe('deploy/compose.yaml', () => {
  it("has the seed's topology: a load balancer, 3 API replicas, 2 supervisors, PostgreSQL and a 3-node NATS cluster", () => {
    const services = compose.services;
    expect(servicesWithRole('api').map(([n]) => n).sort()).toEqual(['api-1', 'api-2', 'api-3']);
    expect(servicesWithRole('supervisor').map(([n]) => n).sort()).toEqual(['supervisor-1', 'supervisor-2']);
    expect(Object.values(services).filter((s) => s.image?.startsWith('postgres:'))).toHaveLength(1);
    const nats = Object.entries(services).filter(([, s]) => s.image?.startsWith('nats:'));
    expect(nats.map(([n]) => n).sort()).toEqual(['nats-1', 'nats-2', 'nats-3']);
    // Each node runs its own generated config and keeps its own data.
    const confs = nats.map(([, s]) => generatedMounts(s).find((m) => m.to === '/etc/nats/node.conf')?.file);
    expect(confs.sort()).toEqual(['node-1.conf', 'node-2.conf', 'node-3.conf']);
    expect(new Set(nats.map(([, s]) => (s.volumes ?? []).find((v) => v.endsWith(':/data')))).size).toBe(3);
    expect(Object.values(services).filter((s) => s.image?.startsWith('haproxy:'))).toHaveLength(1);
    // Every service this file names as a dependency exists.
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(Object.keys(services), `${name} depends on ${d}`).toContain(d);
    }
  });

  it('uses only flags and OPMAS_* variables the AMS reads', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (!s.command?.includes('--role')) continue;
      for (const flag of flagsIn(s.command)) expect(KNOWN_FLAGS, `${name}: --${flag}`).toContain(flag);
      for (const v of Object.keys(s.environment ?? {})) if (v.startsWith('OPMAS_')) expect(KNOWN_VARIABLES, `${name}: ${v}`).toContain(v);
      for (const f of s.env_file ?? []) {
        const vars = Object.keys(parseEnv(fs.readFileSync(path.join(generated, path.basename(f)))));
        expect(vars.length, f).toBeGreaterThan(0);
        for (const v of vars) expect(KNOWN_VARIABLES, `${f}: ${v}`).toContain(v);
      }
    }
    for (const v of variablesIn(read('deploy/compose.yaml'))) expect(KNOWN_VARIABLES, v).toContain(v);
  });

  it('documents the generator command whose files it mounts, at the paths the env files name', () => {
    expect(read('deploy/compose.yaml')).toContain(`npm run nats-config -- ${COMPOSE_GENERATOR_ARGS.join(' ')}`);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const f of s.env_file ?? []) {
        expect(f, name).toMatch(/^generated\//);
        expect(fs.existsSync(path.join(generated, f.slice('generated/'.length))), `${name}: ${f}`).toBe(true);
      }
      for (const m of generatedMounts(s)) expect(fs.existsSync(path.join(generated, m.file)), `${name}: ${m.file}`).toBe(true);
      // Every file an env file points to is mounted there.
      const mounted = new Set(generatedMounts(s).map((m) => m.to));
      for (const f of s.env_file ?? []) {
        const env = parseEnv(fs.readFileSync(path.join(generated, path.basename(f))));
        for (const [k, v] of Object.entries(env)) if (/(_CREDS|_FILE)$/.test(k)) expect(mounted, `${name}: ${k}=${v}`).toContain(v);
      }
    }
  });

  it('gives the API replicas the database and the shared token key, and a supervisor only its own NATS user', () => {
    for (const [name, s] of servicesWithRole('api')) {
      expect(s.environment?.OPMAS_DB_URL, name).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(s.environment?.OPMAS_JWT_SECRET, name).toContain('${OPMAS_JWT_SECRET');
      expect(s.env_file).toEqual(['generated/api.env']);
    }
    const hosts = new Set<string>();
    for (const [name, s] of servicesWithRole('supervisor')) {
      expect(Object.keys(s.environment ?? {}).filter((v) => /DB_URL|JWT|ADMIN/.test(v)), name).toEqual([]);
      const env = parseEnv(fs.readFileSync(path.join(generated, path.basename(s.env_file![0]))));
      expect(Object.keys(env).sort(), name).toEqual(['OPMAS_HOST_ID', 'OPMAS_NATS_CREDS', 'OPMAS_NATS_URL']);
      hosts.add(env.OPMAS_HOST_ID);
      expect(generatedMounts(s).map((m) => m.file), name).toEqual([`supervisor-${env.OPMAS_HOST_ID}.creds`]);
    }
    expect([...hosts].sort()).toEqual(composeOptions.hosts);
    // The NATS URL every process gets names the three nodes.
    expect(parseEnv(fs.readFileSync(path.join(generated, 'api.env'))).OPMAS_NATS_URL).toBe('nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222');
  });

  it('generates node configs that nats-server accepts, and deploy/nats/ holds them with placeholders', () => {
    for (const i of [1, 2, 3]) {
      const res = spawnSync('/usr/sbin/nats-server', ['-c', path.join(generated, `node-${i}.conf`), '-t'], { encoding: 'utf8' });
      expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    }
    const examples = exampleNodeConfigs(composeOptions);
    expect(Object.keys(examples).sort()).toEqual(fs.readdirSync(path.join(DEPLOY, 'nats')).sort());
    for (const [f, text] of Object.entries(examples)) expect(read(`deploy/nats/${f}`), f).toBe(text);
  });
});

describe('deploy/haproxy.cfg', () => {
  const cfg = read('deploy/haproxy.cfg');
  const lines = cfg.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  it('balances over the three API replicas at their port, checks /api/v1/health, and is not sticky', () => {
    const apiPort = (name: string) => compose.services[name].command![compose.services[name].command!.indexOf('--port') + 1];
    const servers = lines.filter((l) => l.startsWith('server '));
    for (const name of ['api-1', 'api-2', 'api-3']) {
      const own = servers.filter((l) => l.split(/\s+/)[1] === name);
      expect(own.length, name).toBe(2);
      for (const l of own) expect(l.split(/\s+/)[2], name).toBe(`${name}:${apiPort(name)}`);
    }
    expect(lines).toContain('option httpchk');
    expect(lines).toContain('http-check send meth GET uri /api/v1/health');
    expect(lines).toContain('http-check expect status 200');
    expect(cfg).not.toMatch(/^\s*(cookie|stick-table|stick on|stick match|balance (source|uri|hdr))/m);
  });

  it(`upgrades the live stream's WebSocket on ${LIVE_PATH}, with a tunnel timeout, and forwards the client address to a trusted proxy`, () => {
    expect(lines).toContain(`acl live_stream path ${LIVE_PATH}`);
    expect(lines).toContain('acl websocket hdr(Upgrade) -i websocket');
    expect(lines.some((l) => /^timeout tunnel \d+[smh]$/.test(l))).toBe(true);
    expect(lines).toContain('option forwardfor');
    // The replicas believe X-Forwarded-For from the load balancer's address only.
    const lb = compose.services.lb;
    const address = (lb.networks as Record<string, { ipv4_address?: string }>).opmas.ipv4_address;
    for (const [name, s] of servicesWithRole('api')) expect(s.command![s.command!.indexOf('--trust-proxy') + 1], name).toBe(address);
  });

  it('is a valid configuration to haproxy', () => {
    const pki = path.join(work, 'pki');
    fs.mkdirSync(pki);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=localhost'], { cwd: pki, stdio: 'pipe' });
    fs.writeFileSync(path.join(pki, 'opmas.pem'), fs.readFileSync(path.join(pki, 'cert.pem'), 'utf8') + fs.readFileSync(path.join(pki, 'key.pem'), 'utf8'));
    // The certificate path of the compose mount, pointed at a throwaway one.
    expect(cfg).toContain('crt /usr/local/etc/haproxy/certs/opmas.pem');
    expect(compose.services.lb.volumes).toContain('./certs:/usr/local/etc/haproxy/certs:ro');
    const file = path.join(work, 'haproxy.cfg');
    fs.writeFileSync(file, cfg.replace('/usr/local/etc/haproxy/certs/opmas.pem', path.join(pki, 'opmas.pem')));
    const res = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
    expect(res.error, 'haproxy must be installed (Debian package haproxy; .ci/run installs it)').toBeUndefined();
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    expect(res.stdout).toContain('Configuration file is valid');
  });
});

describe('deploy systemd units', () => {
  const unit = (f: string) => {
    const text = read(`deploy/${f}`);
    const sections = new Map<string, Map<string, string[]>>();
    let current: Map<string, string[]> | undefined;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const section = /^\[(\w+)\]$/.exec(line);
      if (section) {
        current = new Map();
        sections.set(section[1], current);
        continue;
      }
      const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
      expect(kv, `${f}: ${line}`).not.toBeNull();
      expect(current, `${f}: ${line} outside a section`).toBeDefined();
      current!.set(kv![1], [...(current!.get(kv![1]) ?? []), kv![2]]);
    }
    return { text, sections, service: sections.get('Service')! };
  };
  const execArgs = (u: ReturnType<typeof unit>) => u.service.get('ExecStart')![0].split(/\s+/);

  it('run the built server with --role api and --role supervisor, using only flags and variables the AMS reads', () => {
    for (const [f, role] of [['opmas-ams-api.service', 'api'], ['opmas-ams-supervisor.service', 'supervisor']] as const) {
      const u = unit(f);
      expect([...u.sections.keys()], f).toEqual(['Unit', 'Service', 'Install']);
      const args = execArgs(u);
      expect(args.slice(0, 2), f).toEqual(['/usr/bin/node', '/opt/opmas/out/main/server.js']);
      expect(args[args.indexOf('--role') + 1], f).toBe(role);
      for (const flag of flagsIn(args.slice(2))) expect(KNOWN_FLAGS, `${f}: --${flag}`).toContain(flag);
      for (const v of variablesIn(u.text)) expect(KNOWN_VARIABLES, `${f}: ${v}`).toContain(v);
      expect(u.service.get('EnvironmentFile')?.length, f).toBeGreaterThan(0);
      expect(u.service.get('Restart'), f).toEqual(['on-failure']);
      expect(u.sections.get('Install')?.get('WantedBy'), f).toEqual(['multi-user.target']);
    }
  });

  it('keep the agents alive when the supervisor crashes, and give a supervisor no database settings', () => {
    const sup = unit('opmas-ams-supervisor.service');
    expect(sup.service.get('KillMode')).toEqual(['process']);
    expect(sup.text).not.toMatch(/DB_URL|db-url|JWT_SECRET/);
    expect(sup.service.get('EnvironmentFile')).toEqual(['/etc/opmas/supervisor.env']);
    // The api unit reads the generator's api.env and the example of the rest.
    expect(unit('opmas-ams-api.service').service.get('EnvironmentFile')).toEqual(['/etc/opmas/api.env', '/etc/opmas/ams.env']);
  });

  it('ams.env.example sets only variables the AMS reads, the ones api.env leaves out', () => {
    const env = parseEnv(read('deploy/ams.env.example'));
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['OPMAS_DB_URL', 'OPMAS_JWT_SECRET', 'OPMAS_HOST', 'OPMAS_TRUST_PROXY']));
    for (const v of variablesIn(read('deploy/ams.env.example'))) expect(KNOWN_VARIABLES, v).toContain(v);
    const api = Object.keys(parseEnv(fs.readFileSync(path.join(generated, 'api.env'))));
    expect(Object.keys(env).filter((k) => api.includes(k))).toEqual([]);
  });
});

describe('deploy/Dockerfile and the README', () => {
  it('the image runs the built server, and the README names only variables the AMS reads', () => {
    const docker = read('deploy/Dockerfile');
    expect(docker).toMatch(/^ENTRYPOINT \["node", "\/opt\/opmas\/out\/main\/server\.js"\]$/m);
    expect(docker).toMatch(/^RUN npm run build$/m);
    expect(read('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['node_modules', 'deploy/generated']));
    const readme = read('README.md');
    const start = readme.indexOf('\n## Production cluster');
    expect(start).toBeGreaterThan(0);
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end === -1 ? undefined : end);
    for (const v of variablesIn(section)) expect(KNOWN_VARIABLES, `README: ${v}`).toContain(v);
    // Its generator commands parse.
    for (const m of section.matchAll(/npm run nats-config -- ([^\n`]+)/g)) expect(() => parseNatsConfigArgs(m[1].trim().split(/\s+/)), m[0]).not.toThrow();
  });
});
