// Generates a production NATS setup for an OPMAS cluster: the operator/account trust chain (JWTs,
// keys), one nats-server config per node (routes, JetStream, `full` resolver), the users of the
// AMS, the system account and each host's supervisor, and the environment of each process.
// `npm run nats-config -- --nodes 3 --out DIR --hosts h1,h2`. Run again on the same DIR to add
// hosts or nodes: keys, JWTs and existing users are kept. It never prints a seed.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decode, encodeAccount, encodeOperator, type Account, type Operator } from '@nats-io/jwt';
import { createAccount, createOperator, type KeyPair } from '@nats-io/nkeys';
import { applicationAccountClaims, createCredentialIssuer, type UserPermissions } from '../server/broker/credentials.js';
import { loadOrCreateHostKeys, readSeedFile, writeSecretFile } from '../server/broker/key-store.js';
import { SETTINGS_FLAGS } from '../server/settings.js';

export class NatsConfigError extends Error {
  readonly code = 'nats_config_invalid';
}

export interface NatsConfigOptions {
  /** Number of nats-server nodes (1 to 15). */
  nodes: number;
  /** Output folder (created 0700). */
  out: string;
  /** Supervisor host ids to make users for. */
  hosts: string[];
  /** Address the nodes listen on. */
  host: string;
  /** Address each node is reached at by the other nodes and by clients; default `host` for every node. */
  nodeHosts?: string[];
  /** First client port; route and monitoring ports are derived (see nodePorts). */
  basePort: number;
  clusterBasePort?: number;
  /** Monitoring (`http`) ports start here; no monitoring endpoint without it. */
  monitorBasePort?: number;
  /** Each node keeps its streams under `<jetstreamDir>/node-<i>` and its account JWTs in `<jetstreamDir>/node-<i>/accounts`. */
  jetstreamDir?: string;
  /** Where the files will be on the machines that use them; the env files name paths there. Default: `out`. */
  installDir?: string;
  clusterName: string;
  /** JetStream memory and file storage per node, bytes. */
  maxMem: number;
  maxFile: number;
  /** Mint every user again (after an upgrade changed their permissions); the old ones stay valid until revoked. */
  reissue: boolean;
}

export interface NodePlan {
  index: number;
  name: string;
  /** host:port a client connects to. */
  clientAddress: string;
  listen: string;
  routeListen: string;
  routeAddress: string;
  monitor?: string;
  storeDir: string;
  resolverDir: string;
}

export interface NatsConfigResult {
  out: string;
  nodes: NodePlan[];
  /** OPMAS_NATS_URL for every process. */
  natsUrl: string;
  operatorPublicKey: string;
  systemAccountPublicKey: string;
  accountPublicKey: string;
  /** Files written this run and files kept from an earlier run (names relative to `out`). */
  written: string[];
  kept: string[];
}

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ADDRESS = /^[A-Za-z0-9._:-]+$/;

/**
 * Ports: nodes that share one address use consecutive ports from each base (node i gets
 * base + i - 1); nodes on distinct addresses all use the bases themselves. The route base
 * defaults to base + 2000 and, with --monitor, the monitoring base to base + 4000 (the NATS
 * 4222/6222/8222 convention).
 */
export function planNodes(o: Pick<NatsConfigOptions, 'nodes' | 'host' | 'nodeHosts' | 'basePort' | 'clusterBasePort' | 'monitorBasePort' | 'jetstreamDir' | 'out'>): NodePlan[] {
  const addresses = o.nodeHosts ?? Array.from({ length: o.nodes }, () => o.host);
  const shared = new Set(addresses).size === 1 && o.nodes > 1;
  const routeBase = o.clusterBasePort ?? o.basePort + 2000;
  const jsDir = path.resolve(o.jetstreamDir ?? path.join(o.out, 'data'));
  return addresses.map((address, i) => {
    const offset = shared ? i : 0;
    const client = o.basePort + offset;
    const route = routeBase + offset;
    const name = `opmas-nats-${i + 1}`;
    const storeDir = path.join(jsDir, `node-${i + 1}`);
    return {
      index: i + 1,
      name,
      clientAddress: hostPort(address, client),
      listen: hostPort(o.host, client),
      routeListen: hostPort(o.host, route),
      routeAddress: hostPort(address, route),
      monitor: o.monitorBasePort === undefined ? undefined : hostPort(o.host, o.monitorBasePort + offset),
      storeDir,
      resolverDir: path.join(storeDir, 'accounts'),
    };
  });
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** One node's nats-server configuration. Pure; strings are JSON-quoted, which the NATS parser reads back unchanged. */
export function renderNodeConfig(c: {
  node: NodePlan;
  all: NodePlan[];
  clusterName: string;
  maxMem: number;
  maxFile: number;
  operatorJwt: string;
  systemAccount: string;
  preload: Record<string, string>;
  /** Advertise the node's own address when it listens on another one (0.0.0.0 in a container). */
  advertise: boolean;
}): string {
  const q = (s: string) => JSON.stringify(s);
  const { node } = c;
  const routes = c.all.filter((n) => n.index !== node.index).map((n) => `    ${q(`nats-route://${n.routeAddress}`)}`);
  return [
    `# nats-server node ${node.index} of ${c.all.length} of the OPMAS cluster ${q(c.clusterName)}, written by scripts/nats-config.ts.`,
    '# Run: nats-server -c <this file>. Nothing here is secret (JWTs and public keys only).',
    `server_name: ${q(node.name)}`,
    `listen: ${q(node.listen)}`,
    ...(c.advertise ? [`client_advertise: ${q(node.clientAddress)}`] : []),
    ...(node.monitor ? [`http: ${q(node.monitor)}`] : []),
    // One node alone has no cluster: JetStream runs standalone.
    ...(c.all.length === 1
      ? []
      : [
          'cluster {',
          `  name: ${q(c.clusterName)}`,
          `  listen: ${q(node.routeListen)}`,
          ...(c.advertise ? [`  cluster_advertise: ${q(node.routeAddress)}`] : []),
          '  routes: [',
          ...routes,
          '  ]',
          '}',
        ]),
    'jetstream {',
    `  store_dir: ${q(node.storeDir)}`,
    `  max_mem: ${c.maxMem}`,
    `  max_file: ${c.maxFile}`,
    '}',
    `operator: ${q(c.operatorJwt)}`,
    `system_account: ${q(c.systemAccount)}`,
    // `full`: account JWTs live in this folder and take claim updates (revocations) over the
    // system account; an update reaches every node. allow_delete: false keeps accounts from being
    // removed that way. A preloaded JWT older than the stored one does not replace it.
    `resolver: { type: full, dir: ${q(node.resolverDir)}, allow_delete: false, interval: "2m" }`,
    'resolver_preload: {',
    ...Object.entries(c.preload).map(([account, jwt]) => `  ${q(account)}: ${q(jwt)}`),
    '}',
    '',
  ].join('\n');
}

/**
 * The node configs of a plan with placeholders instead of the JWTs and keys: what deploy/nats/
 * holds as examples (test/unit/deploy-files.test.ts keeps them equal to this).
 */
export function exampleNodeConfigs(o: NatsConfigOptions): Record<string, string> {
  checkOptions(o);
  const nodes = planNodes(o);
  const header = '# EXAMPLE with placeholders: generate the real files with `npm run nats-config` (README "Production cluster").\n';
  return Object.fromEntries(
    nodes.map((node) => [
      `node-${node.index}.example.conf`,
      header +
        renderNodeConfig({
          node,
          all: nodes,
          clusterName: o.clusterName,
          maxMem: o.maxMem,
          maxFile: o.maxFile,
          operatorJwt: '<contents of operator.jwt>',
          systemAccount: '<system account public key, A...>',
          preload: { '<system account public key, A...>': '<contents of system-account.jwt>', '<application account public key, A...>': '<contents of account.jwt>' },
          advertise: node.clientAddress !== node.listen,
        }),
    ]),
  );
}

/** The system-account user the api role pushes account claim updates with (and nothing else). */
export function systemUserPermissions(): UserPermissions {
  return {
    pub: { allow: ['$SYS.REQ.CLAIMS.UPDATE', '$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP'] },
    sub: { allow: ['_INBOX.>'] },
  };
}

/** Writes the whole setup into `o.out`; keeps what an earlier run made there. */
export async function writeNatsConfig(o: NatsConfigOptions): Promise<NatsConfigResult> {
  checkOptions(o);
  const out = path.resolve(o.out);
  fs.mkdirSync(out, { recursive: true, mode: 0o700 });
  fs.chmodSync(out, 0o700);
  const keysDir = path.join(out, 'keys');
  fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(keysDir, 0o700);
  const installDir = o.installDir ?? out;
  const written: string[] = [];
  const kept: string[] = [];
  const file = (name: string) => path.join(out, name);
  const writePublic = (name: string, text: string) => {
    fs.writeFileSync(file(name), text, { mode: 0o644 });
    fs.chmodSync(file(name), 0o644);
    written.push(name);
  };
  const writeSecret = (name: string, text: string) => {
    writeSecretFile(file(name), text);
    written.push(name);
  };

  // An earlier run's JWTs without all of its keys: refuse before writing anything, rather than
  // make a key that no longer fits them.
  if (['operator.jwt', 'system-account.jwt', 'account.jwt'].some((f) => fs.existsSync(file(f)))) {
    const missing = ['keys/operator.nk', 'keys/system-account.nk', 'keys/account.nk', 'operator.seed', 'account.seed'].filter((f) => !fs.existsSync(file(f)));
    if (missing.length > 0) throw new NatsConfigError(`${out} holds an earlier setup's JWTs but not ${missing.join(', ')}; restore them, or move the folder away and generate a new one`);
  }

  // Identity keys (kept offline after this): the same files and code as host mode's trust chain.
  const before = new Set(fs.readdirSync(keysDir));
  const keys = loadOrCreateHostKeys(keysDir);
  for (const f of fs.readdirSync(keysDir)) (before.has(f) ? kept : written).push(`keys/${f}`);

  // Signing keys: what the api role holds. Losing one means dropping it from its JWT, not a new identity.
  const signingKey = (name: string, prefix: 'SO' | 'SA', create: () => KeyPair): KeyPair => {
    if (fs.existsSync(file(name))) {
      kept.push(name);
      return readSeedFile(file(name), prefix);
    }
    const kp = create();
    writeSecret(name, `${new TextDecoder().decode(kp.getSeed())}\n`);
    return kp;
  };
  const operatorSigner = signingKey('operator.seed', 'SO', createOperator);
  const accountSigner = signingKey('account.seed', 'SA', createAccount);

  const systemAccount = keys.systemAccount.getPublicKey();
  const account = keys.account.getPublicKey();
  const limits = applicationAccountClaims({}).limits!;
  // The system account gets the same connection limits and no JetStream (nats-server refuses it there).
  const systemLimits = Object.fromEntries(Object.entries(limits).filter(([k]) => !['mem_storage', 'disk_storage', 'streams', 'consumer', 'max_ack_pending'].includes(k)));

  // JWTs are made once: the resolvers keep the newest copy of an account (with its revocations),
  // and rewriting them here would only hand nodes an older view to ignore.
  const jwtFile = async <T>(name: string, subject: string, make: () => Promise<string>, check: (claims: Partial<T>) => string | undefined): Promise<string> => {
    if (fs.existsSync(file(name))) {
      const text = fs.readFileSync(file(name), 'utf8').trim();
      let problem: string | undefined;
      try {
        const claims = decode<T>(text);
        problem = claims.sub !== subject ? `it is for ${claims.sub}, not ${subject}` : check(claims.nats);
      } catch {
        problem = 'it does not verify';
      }
      if (problem) throw new NatsConfigError(`${file(name)} does not fit the keys in ${out}: ${problem}; move the folder away and generate a new one`);
      kept.push(name);
      return text;
    }
    const jwt = await make();
    writePublic(name, `${jwt}\n`);
    return jwt;
  };
  const hasKey = (list: Array<string | { key: string }> | undefined, key: string) => (list ?? []).some((k) => (typeof k === 'string' ? k : k.key) === key);
  const operatorJwt = await jwtFile<Operator>(
    'operator.jwt',
    keys.operator.getPublicKey(),
    () => encodeOperator('OPMAS', keys.operator, { system_account: systemAccount, signing_keys: [operatorSigner.getPublicKey()] }),
    (c) => (c.system_account !== systemAccount ? 'its system account differs' : hasKey(c.signing_keys, operatorSigner.getPublicKey()) ? undefined : 'operator.seed is not one of its signing keys'),
  );
  const systemJwt = await jwtFile<Account>('system-account.jwt', systemAccount, () => encodeAccount('SYS', systemAccount, { limits: systemLimits }, { signer: operatorSigner }), () => undefined);
  const accountJwt = await jwtFile<Account>(
    'account.jwt',
    account,
    () => encodeAccount('OPMAS', account, { ...applicationAccountClaims({}), signing_keys: [accountSigner.getPublicKey()] }, { signer: operatorSigner }),
    (c) => (hasKey(c.signing_keys, accountSigner.getPublicKey()) ? undefined : 'account.seed is not one of its signing keys'),
  );

  // Users: the application account's through the AMS's own issuer (signed by the account signing
  // key, permissions from server/broker/credentials.ts), the system user with the system account key.
  const noRevocation = { revocations: { list: () => ({}), add: () => undefined }, applyRevocations: async () => ({ applied: false, detail: 'not here' }) };
  const app = createCredentialIssuer({ accountPublicKey: account, signingKey: accountSigner, ...noRevocation });
  const sys = createCredentialIssuer({ accountPublicKey: systemAccount, signingKey: keys.systemAccount, ...noRevocation });
  const user = async (name: string, issue: () => Promise<{ creds: string }>) => {
    if (!o.reissue && fs.existsSync(file(name))) {
      kept.push(name);
      return;
    }
    writeSecret(name, (await issue()).creds);
  };
  await user('ams.creds', () => app.issueAms());
  await user('system.creds', () => sys.issueUser('opmas-ams-system', systemUserPermissions()));
  for (const h of o.hosts) await user(`supervisor-${h}.creds`, () => app.issueSupervisor(h));

  // Node configs.
  const nodes = planNodes({ ...o, out });
  const preload = { [systemAccount]: systemJwt, [account]: accountJwt };
  for (const node of nodes) {
    const advertise = node.clientAddress !== node.listen;
    writePublic(`node-${node.index}.conf`, renderNodeConfig({ node, all: nodes, clusterName: o.clusterName, maxMem: o.maxMem, maxFile: o.maxFile, operatorJwt, systemAccount, preload, advertise }));
  }

  // Environment files: one per process kind, usable as systemd EnvironmentFile= and compose env_file.
  const natsUrl = nodes.map((n) => `nats://${n.clientAddress}`).join(',');
  const at = (name: string) => path.posix.join(installDir.split(path.sep).join(path.posix.sep), name);
  const apiEnv = {
    OPMAS_NATS_URL: natsUrl,
    OPMAS_NATS_CREDS: at('ams.creds'),
    OPMAS_NATS_ACCOUNT: account,
    OPMAS_NATS_ACCOUNT_SEED_FILE: at('account.seed'),
    OPMAS_NATS_SYSTEM_CREDS: at('system.creds'),
    OPMAS_NATS_OPERATOR_SEED_FILE: at('operator.seed'),
  };
  const supervisorEnv = (h: string) => ({ OPMAS_NATS_URL: natsUrl, OPMAS_NATS_CREDS: at(`supervisor-${h}.creds`), [SETTINGS_FLAGS['host-id'].env]: h });
  const envText = (vars: Record<string, string>) => Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  const apiLines = [
    '# --role api (every API replica): NATS as the control plane, plus revocation pushes.',
    ...envText(apiEnv),
    '# Also needed, not made here: OPMAS_DB_URL=postgres://..., and OPMAS_JWT_SECRET (the same 32+ bytes on every replica).',
  ];
  writePublic('api.env', `${['# Written by scripts/nats-config.ts. Paths are where the files are installed.', ...apiLines].join('\n')}\n`);
  // Every host with a user here, not only this run's: the URL list may have changed.
  const allHosts = listHosts(out);
  for (const h of allHosts) {
    writePublic(`supervisor-${h}.env`, `${['# Written by scripts/nats-config.ts. --role supervisor on host ' + h + ': no database, no other secret.', ...envText(supervisorEnv(h))].join('\n')}\n`);
  }
  writePublic(
    'env',
    `${[
      '# Written by scripts/nats-config.ts: every process\'s OPMAS_* variables, by section. Each section is',
      '# also written alone (api.env, supervisor-<host>.env): point EnvironmentFile= or env_file: at those;',
      '# do not load this file as a whole (the sections set the same names).',
      '',
      '## api.env',
      ...apiLines,
      ...allHosts.flatMap((h) => ['', `## supervisor-${h}.env (--role supervisor --host-id ${h})`, ...envText(supervisorEnv(h))]),
    ].join('\n')}\n`,
  );

  return { out, nodes, natsUrl, operatorPublicKey: keys.operator.getPublicKey(), systemAccountPublicKey: systemAccount, accountPublicKey: account, written, kept };
}

/** Hosts with a supervisor user in `out` (this run's and earlier runs'). */
function listHosts(out: string): string[] {
  return fs
    .readdirSync(out)
    .map((f) => /^supervisor-(.+)\.creds$/.exec(f)?.[1])
    .filter((h): h is string => h !== undefined && HOST_ID.test(h))
    .sort();
}

function checkOptions(o: NatsConfigOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 15) problems.push(`--nodes must be an integer from 1 to 15, got ${o.nodes}`);
  if (!o.out) problems.push('--out is required: the folder to write into');
  for (const h of o.hosts) if (!HOST_ID.test(h)) problems.push(`--hosts: ${JSON.stringify(h)} is not a host id (1 to 64 letters, digits, _ or -, starting with a letter or digit)`);
  if (new Set(o.hosts).size !== o.hosts.length) problems.push('--hosts names a host twice');
  if (!ADDRESS.test(o.host)) problems.push(`--host must be an address or a host name, got ${JSON.stringify(o.host)}`);
  if (o.nodeHosts) {
    if (o.nodeHosts.length !== o.nodes) problems.push(`--node-hosts must name one address per node (${o.nodes}), got ${o.nodeHosts.length}`);
    for (const a of o.nodeHosts) if (!ADDRESS.test(a) || a === '0.0.0.0' || a === '::') problems.push(`--node-hosts: ${JSON.stringify(a)} is not an address other nodes and clients can reach`);
  } else if (o.nodes > 1 && (o.host === '0.0.0.0' || o.host === '::')) {
    problems.push('--host 0.0.0.0 needs --node-hosts: the address each node is reached at');
  }
  const span = o.nodeHosts && new Set(o.nodeHosts).size > 1 ? 1 : o.nodes;
  for (const [flag, base] of [['--base-port', o.basePort], ['--cluster-base-port', o.clusterBasePort ?? o.basePort + 2000], ['--monitor-base-port', o.monitorBasePort]] as const) {
    if (base === undefined) continue;
    if (!Number.isInteger(base) || base < 1 || base + span - 1 > 65535) problems.push(`${flag} must leave ${span} port(s) below 65536, got ${base}`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.clusterName)) problems.push(`--cluster-name must be letters, digits, _ or -, got ${JSON.stringify(o.clusterName)}`);
  for (const [flag, v] of [['--max-mem', o.maxMem], ['--max-file', o.maxFile]] as const) if (!Number.isSafeInteger(v) || v < 1) problems.push(`${flag} must be a size such as 512M or 10G`);
  if (problems.length > 0) throw new NatsConfigError(problems.join('\n'));
}

/** `512M`, `10G`, `1073741824` -> bytes (powers of 1024); NaN when it does not parse. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) return Number.NaN;
  const unit = { '': 0, K: 1, M: 2, G: 3, T: 4 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * 1024 ** unit;
}

const FLAGS = {
  nodes: { type: 'string', help: 'number of nats-server nodes (default 3)' },
  out: { type: 'string', help: 'folder to write into (created 0700; an earlier run\'s keys, JWTs and users there are kept)' },
  hosts: { type: 'string', help: 'comma-separated supervisor host ids to make users for (run again with more to add hosts)' },
  host: { type: 'string', help: 'address the nodes listen on (default 127.0.0.1; 0.0.0.0 needs --node-hosts)' },
  'node-hosts': { type: 'string', help: 'comma-separated address of each node as clients and the other nodes reach it (default: --host)' },
  'base-port': { type: 'string', help: 'client port of the first node (default 4222); nodes sharing one address count up from it' },
  'cluster-base-port': { type: 'string', help: 'route port of the first node (default base-port + 2000)' },
  monitor: { type: 'boolean', help: 'give each node a monitoring (http) endpoint, from base-port + 4000' },
  'monitor-base-port': { type: 'string', help: 'monitoring port of the first node (implies --monitor)' },
  'jetstream-dir': { type: 'string', help: 'where the nodes keep their data: <dir>/node-<i> (default <out>/data)' },
  'install-dir': { type: 'string', help: 'where the files will be installed; the env files name paths there (default <out>)' },
  'cluster-name': { type: 'string', help: 'the NATS cluster name (default opmas)' },
  'max-mem': { type: 'string', help: 'JetStream memory storage per node (default 1G)' },
  'max-file': { type: 'string', help: 'JetStream file storage per node (default 10G)' },
  reissue: { type: 'boolean', help: 'mint every user again (old users stay valid until revoked)' },
  help: { type: 'boolean', help: 'this text' },
} as const;

export function usage(): string {
  return [
    'usage: npm run nats-config -- --out DIR [--nodes 3] [--hosts h1,h2] [flags]',
    '',
    'Writes an operator/account trust chain, node-<i>.conf per nats-server node, ams.creds, system.creds,',
    'supervisor-<host>.creds, account.seed, operator.seed and the env files of each process into DIR.',
    '',
    ...Object.entries(FLAGS).map(([flag, f]) => `  --${flag.padEnd(20)} ${f.help}`),
    '',
  ].join('\n');
}

/** Parses the command line; throws NatsConfigError naming each bad flag. */
export function parseNatsConfigArgs(argv: string[]): NatsConfigOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, { type: f.type }])), strict: true, allowPositionals: false }));
  } catch (err) {
    throw new NatsConfigError((err as Error).message);
  }
  if (values.help) return 'help';
  const str = (k: keyof typeof FLAGS) => (typeof values[k] === 'string' && values[k] !== '' ? (values[k] as string) : undefined);
  const num = (k: keyof typeof FLAGS) => (str(k) === undefined ? undefined : /^\d+$/.test(str(k)!) ? Number(str(k)) : Number.NaN);
  const list = (k: keyof typeof FLAGS) => (str(k) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!str('out')) throw new NatsConfigError('--out is required: the folder to write into');
  return {
    nodes: num('nodes') ?? 3,
    out: str('out')!,
    hosts: list('hosts'),
    host: str('host') ?? '127.0.0.1',
    nodeHosts: str('node-hosts') ? list('node-hosts') : undefined,
    basePort: num('base-port') ?? 4222,
    clusterBasePort: num('cluster-base-port'),
    monitorBasePort: num('monitor-base-port') ?? (values.monitor === true ? (num('base-port') ?? 4222) + 4000 : undefined),
    jetstreamDir: str('jetstream-dir'),
    installDir: str('install-dir'),
    clusterName: str('cluster-name') ?? 'opmas',
    maxMem: parseSize(str('max-mem') ?? '1G'),
    maxFile: parseSize(str('max-file') ?? '10G'),
    reissue: values.reissue === true,
  };
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseNatsConfigArgs(process.argv.slice(2));
    if (opts === 'help') {
      process.stdout.write(usage());
      return;
    }
    const r = await writeNatsConfig(opts);
    // Public keys and file names only: never a seed.
    const lines = [
      `NATS cluster "${opts.clusterName}" (${r.nodes.length} node${r.nodes.length === 1 ? '' : 's'}) in ${r.out}`,
      `  operator        ${r.operatorPublicKey}`,
      `  system account  ${r.systemAccountPublicKey}`,
      `  account         ${r.accountPublicKey}`,
      `  OPMAS_NATS_URL  ${r.natsUrl}`,
      ...r.nodes.map((n) => `  node-${n.index}.conf    ${n.name}: clients ${n.clientAddress}, routes ${n.routeAddress}${n.monitor ? `, monitoring ${n.monitor}` : ''}, data ${n.storeDir}`),
      `  written: ${r.written.join(' ') || 'nothing'}`,
      ...(r.kept.length > 0 ? [`  kept:    ${r.kept.join(' ')}`] : []),
      '',
      'Next: start each node with `nats-server -c node-<i>.conf`; give every API replica api.env with ams.creds,',
      'account.seed, system.creds and operator.seed; give each host only supervisor-<host>.env and its .creds.',
      'keys/ holds the identity keys: keep it offline. Secrets are mode 0600; do not print them.',
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } catch (err) {
    if (err instanceof NatsConfigError || (err as { code?: string }).code === 'broker_settings_invalid') {
      process.stderr.write(`nats-config: ${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
