// An agent's defaults from its own package: the topics and findings topic in `.env.discovery`
// (DESIGN.md), so that a sample agent does not repeat them in code. Only reads; the scanner
// is what validates packages.
import fs from 'node:fs';
import path from 'node:path';

export interface PackageDefaults {
  name?: string;
  version?: string;
  topics: string[];
  findingsTopic?: string;
}

/** KEY=VALUE lines; `#` starts a comment at the line start or after whitespace; values may be quoted. */
export function parseDiscoveryFile(text: string): Record<string, string> {
  // A Map, then own properties: a `__proto__=` line is a key like any other.
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(raw);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])(.*)\1\s*(?:#.*)?$/.exec(value);
    value = quoted ? quoted[2] : value.replace(/(^|\s)#.*$/, '').trim();
    out.set(m[1], value);
  }
  return Object.fromEntries(out);
}

/** The defaults in `<dir>/.env.discovery`; empty when the file is missing. */
export function readPackageDefaults(dir: string): PackageDefaults {
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, '.env.discovery'), 'utf8');
  } catch {
    return { topics: [] };
  }
  const env = parseDiscoveryFile(text);
  return {
    name: env.AGENT_NAME || undefined,
    version: env.AGENT_VERSION || undefined,
    topics: (env.DEFAULT_SUBSCRIBED_TOPICS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    findingsTopic: env.DEFAULT_FINDINGS_TOPIC || undefined,
  };
}
