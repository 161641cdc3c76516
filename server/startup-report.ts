// What the AMS tells the person who started it, once it is ready: where the console is, where
// its data, agents, database and broker are, and on first run the setup token to paste into
// the console. Pure formatting; main.ts decides where it goes.

export interface StartupFacts {
  version: string;
  url: string;
  dataDir: string;
  agentsDir: string;
  samplesCopied: string[];
  database: { kind: 'pglite' | 'postgres'; dbUrl?: string };
  broker: { mode: string; url: string | null; status: string; error?: string };
  /** Whether the web console is served at `/` (a built renderer was found). */
  consoleServed: boolean;
}

/** A PostgreSQL URL without its password (it is a secret; the rest helps find the database). */
export function safeDbUrl(dbUrl: string): string {
  try {
    const u = new URL(dbUrl);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/** The fields of the JSON "ready" log line: the same facts, without a secret. */
export function startupLogFields(f: StartupFacts): Record<string, unknown> {
  return {
    url: f.url,
    dataDir: f.dataDir,
    agentsDir: f.agentsDir,
    ...(f.samplesCopied.length > 0 ? { samplesCopied: f.samplesCopied } : {}),
    database: f.database.kind === 'pglite' ? 'pglite' : safeDbUrl(f.database.dbUrl ?? ''),
    broker: { mode: f.broker.mode, url: f.broker.url, status: f.broker.status },
    consoleServed: f.consoleServed,
  };
}

const row = (name: string, value: string) => `  ${name.padEnd(10)} ${value}`;
const more = (value: string) => `  ${''.padEnd(10)} ${value}`;

/** The block printed on a terminal when the AMS is ready. */
export function startupBlock(f: StartupFacts): string[] {
  const lines = ['', `OPMAS AMS ${f.version} is ready`, ''];
  lines.push(row('Console', f.consoleServed ? `${f.url}/` : `${f.url}/ (API only: no built console found; run npm run build)`));
  lines.push(row('Data dir', f.dataDir));
  lines.push(row('Agents', f.agentsDir));
  if (f.samplesCopied.length > 0) lines.push(more(`first run: copied the sample agents ${f.samplesCopied.join(', ')} into it`));
  lines.push(more('each agent package is a folder there with a .env.discovery file'));
  lines.push(row('Database', f.database.kind === 'pglite' ? `PGlite (embedded) in ${f.dataDir}/db` : `PostgreSQL ${safeDbUrl(f.database.dbUrl ?? '')}`));
  const broker = f.broker.mode === 'host' ? 'nats-server run by the AMS' : 'external NATS';
  lines.push(row('Broker', f.broker.status === 'down' ? `${broker}: down (${f.broker.error ?? 'unreachable'})` : `${broker} at ${f.broker.url ?? '?'}`));
  lines.push(row('Stop', 'Ctrl+C'));
  lines.push('');
  return lines;
}

/** The first-run lines: the one-time setup token, said where a person will see it. */
export function setupTokenBlock(url: string | undefined, token: string): string[] {
  return [
    '',
    `  First run: no user yet. Open the console${url ? ` at ${url}/` : ''} and paste this one-time setup token:`,
    '',
    `    ${token}`,
    '',
    '  (or start with OPMAS_ADMIN_PASSWORD=... to create user admin instead)',
    '',
  ];
}
