// Reads and validates one agent package folder: its `.env.discovery` (a real dotenv parser)
// against DESIGN.md's package format. Never follows a symbolic link and never reads outside
// the agents directory; every problem is reported, none is thrown. Each package is judged
// alone: text that is not clean UTF-8 (a NUL byte, control characters) makes that package
// invalid before anything of it reaches the database, and the scan goes on.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import semver from 'semver';
import { AGENT_NAME_PATTERN, AGENT_TYPE_MAX, AGENT_TYPE_PATTERN, defaultAgentType, natsSubjectProblem } from '../domain/identifiers.js';
import { reservedTopicProblem } from '../broker/subjects.js';

export const DISCOVERY_FILE = '.env.discovery';
const MAX_DISCOVERY_BYTES = 64 * 1024;
/** Widths of the columns the scanner stores these fields in (agent_packages), and of the API's own limits. */
const FIELD_LIMITS: ReadonlyMap<string, number> = new Map([['AGENT_NAME', 64], ['AGENT_VERSION', 64], ['AGENT_TYPE', 50]]);
/** Longest value kept for display; longer ones are cut (the package is invalid anyway). */
const MAX_SHOWN_VALUE = 1024;
export const IGNORED_DOT_FOLDER = 'the folder name starts with a dot: hidden folders are not agent packages (rename it to have it scanned)';
/** Executables tried, in order, when AGENT_COMMAND is absent. */
export const DEFAULT_EXECUTABLES = ['agent', 'agent.mjs', 'agent.js', 'index.mjs', 'index.js'];

export interface PackageAgent {
  name: string;
  version: string;
  type: string;
  description: string | null;
  /** The command line the supervisor runs, in the package folder. */
  command: string;
  subscribed_topics: string[];
  findings_topic: string | null;
}

export interface PackageReading {
  /** Folder name under the agents directory. */
  path: string;
  /** Set for folders the scanner does not treat as packages (dot-prefixed): why. */
  ignored?: string;
  /** Raw fields from `.env.discovery`. */
  fields: Record<string, string>;
  /** Set when the package is valid. */
  agent?: PackageAgent;
  problems: string[];
  checksum: string | null;
}

/** Reads `<agentsDir>/<name>`; `name` must be a single path segment. */
export function readPackage(agentsDir: string, name: string): PackageReading {
  const reading: PackageReading = { path: name, fields: {}, problems: [], checksum: null };
  const fail = (problem: string) => {
    reading.problems.push(problem);
    return reading;
  };
  if (name !== path.basename(name) || name === '.' || name === '..') return fail('not a package folder name');
  if (name.startsWith('.')) return { ...reading, ignored: IGNORED_DOT_FOLDER };
  const nameProblem = textProblem(name);
  if (nameProblem) return fail(`the folder name ${nameProblem}`);
  const dir = path.join(agentsDir, name);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    // readdir decodes a name that is not UTF-8 lossily, and the lossy name then names nothing.
    return fail(name.includes('\uFFFD') ? 'the folder name is not valid UTF-8' : 'the folder disappeared while it was read');
  }
  if (stat.isSymbolicLink()) return fail('is a symbolic link; links are not followed out of the agents directory');
  if (!stat.isDirectory()) return fail('is not a folder');

  const file = path.join(dir, DISCOVERY_FILE);
  let fileStat: fs.Stats;
  try {
    fileStat = fs.lstatSync(file);
  } catch {
    return fail(`has no ${DISCOVERY_FILE} file`);
  }
  if (fileStat.isSymbolicLink()) return fail(`${DISCOVERY_FILE} is a symbolic link; links are not followed`);
  if (!fileStat.isFile()) return fail(`${DISCOVERY_FILE} is not a regular file`);
  if (fileStat.size > MAX_DISCOVERY_BYTES) return fail(`${DISCOVERY_FILE} is larger than ${MAX_DISCOVERY_BYTES} bytes`);
  const bytes = fs.readFileSync(file);
  reading.checksum = createHash('sha256').update(bytes).digest('hex');
  const parsed = parseDiscoveryText(bytes);
  if ('problem' in parsed) return fail(`${DISCOVERY_FILE} ${parsed.problem}`);
  reading.problems.push(...parsed.duplicates);
  const { fields, problems: lengthProblems } = boundedFields(parsed.fields);
  reading.fields = fields;
  reading.problems.push(...lengthProblems);
  const validated = validateFields(parsed.fields, (exe) => defaultExecutable(dir, exe));
  for (const p of validated.problems) if (!reading.problems.includes(p)) reading.problems.push(p);
  if (reading.problems.length === 0) reading.agent = validated.agent;
  return reading;
}

// dotenv's own line grammar (dotenv/lib/main.js, LINE), to find each key and its line number:
// dotenv.parse keeps the last of duplicate keys silently, and a duplicate must be reported.
const DOTENV_LINE = /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;
const DECODER = new TextDecoder('utf-8', { fatal: true });

/** Why `text` cannot be stored or shown as is (a NUL, another control character than tab), or undefined. */
export function textProblem(text: string, allowLineBreaks = false): string | undefined {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
    if (!control || c === 0x09 || (allowLineBreaks && (c === 0x0a || c === 0x0d))) continue;
    const line = text.slice(0, i).split('\n').length;
    const what = c === 0 ? 'a NUL byte' : `the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
    return allowLineBreaks ? `contains ${what} on line ${line}` : `contains ${what}`;
  }
  return undefined;
}

/**
 * The fields of a `.env.discovery` file, checked as text first: it must be UTF-8 without NUL
 * bytes or control characters other than tab (and line breaks). Duplicate keys are reported
 * with both line numbers.
 */
export function parseDiscoveryText(bytes: Uint8Array): { fields: Record<string, string>; duplicates: string[] } | { problem: string } {
  let text: string;
  try {
    text = DECODER.decode(bytes);
  } catch {
    const line = Buffer.from(bytes).subarray(0, firstInvalidUtf8(bytes)).toString('latin1').split('\n').length;
    return { problem: `is not valid UTF-8 text (line ${line})` };
  }
  const problem = textProblem(text, true);
  if (problem) return { problem };
  const source = text.replace(/\r\n?/g, '\n');
  const firstLine = new Map<string, number>();
  const duplicates: string[] = [];
  for (const m of source.matchAll(DOTENV_LINE)) {
    const lead = /^\s*(?:export\s+)?/.exec(m[0])![0].length;
    const line = source.slice(0, m.index + lead).split('\n').length;
    const first = firstLine.get(m[1]);
    if (first === undefined) firstLine.set(m[1], line);
    else duplicates.push(`${m[1]} is set twice, on line ${first} and on line ${line}`);
  }
  // A Map, then own properties: a key such as `__proto__` or `constructor` is a key like any other.
  return { fields: Object.fromEntries(Object.entries(dotenv.parse(source))), duplicates };
}

/** Offset of the first byte that starts an invalid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i += 1) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      return i;
    }
  }
  return bytes.length;
}

/** Fields fit to store and show: over-long package-format values are reported and cut. */
function boundedFields(fields: Record<string, string>): { fields: Record<string, string>; problems: string[] } {
  const problems: string[] = [];
  const kept = Object.entries(fields).map(([key, value]): [string, string] => {
    const limit = FIELD_LIMITS.get(key);
    if (limit !== undefined && value.trim().length > limit) {
      problems.push(`${key} is longer than ${limit} characters`);
      return [key, `${value.trim().slice(0, limit - 1)}…`];
    }
    return [key, value.length > MAX_SHOWN_VALUE ? `${value.slice(0, MAX_SHOWN_VALUE - 1)}…` : value];
  });
  return { fields: Object.fromEntries(kept), problems };
}

/** Whether `file` in the package folder can serve as its default executable, and how to run it. */
function defaultExecutable(dir: string, file: string): string | undefined {
  try {
    const st = fs.lstatSync(path.join(dir, file));
    if (!st.isFile()) return undefined;
    if (file.endsWith('.js') || file.endsWith('.mjs')) return `node ${file}`;
    return st.mode & 0o111 ? `./${file}` : undefined;
  } catch {
    return undefined;
  }
}

/** Validates parsed fields; `findExecutable` answers the command for a default executable name, if present. */
export function validateFields(fields: Record<string, string>, findExecutable: (file: string) => string | undefined): { agent?: PackageAgent; problems: string[] } {
  const problems: string[] = [];
  const name = fields.AGENT_NAME?.trim();
  const version = fields.AGENT_VERSION?.trim();
  if (!name) problems.push('AGENT_NAME is required');
  else if (!AGENT_NAME_PATTERN.test(name)) problems.push('AGENT_NAME must start with a letter and hold only letters, digits, _ or - (at most 64)');
  if (!version) problems.push('AGENT_VERSION is required');
  else if (version.length > 64) problems.push('AGENT_VERSION is longer than 64 characters');
  else if (semver.valid(version) === null) problems.push(`AGENT_VERSION ${JSON.stringify(version)} is not a semantic version such as 1.0.0`);

  const type = fields.AGENT_TYPE?.trim() || (name ? defaultAgentType(name) : '');
  if (name && (!AGENT_TYPE_PATTERN.test(type) || type.length > AGENT_TYPE_MAX)) {
    problems.push(`AGENT_TYPE ${JSON.stringify(type)} must be a lower-case slug such as "security"`);
  }

  const topics = (fields.DEFAULT_SUBSCRIBED_TOPICS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  for (const topic of topics) {
    const problem = natsSubjectProblem(topic, true) ?? reservedTopicProblem(topic);
    if (problem) problems.push(`DEFAULT_SUBSCRIBED_TOPICS: ${JSON.stringify(topic)} is not a valid NATS subject: it ${problem}`);
  }
  const findings = fields.DEFAULT_FINDINGS_TOPIC?.trim() || null;
  if (findings) {
    const problem = natsSubjectProblem(findings, false) ?? reservedTopicProblem(findings);
    if (problem) problems.push(`DEFAULT_FINDINGS_TOPIC: ${JSON.stringify(findings)} is not a valid NATS subject: it ${problem}`);
  }

  let command: string | undefined = fields.AGENT_COMMAND?.trim();
  if (!command) {
    command = DEFAULT_EXECUTABLES.map(findExecutable).find((c) => c !== undefined);
    if (!command) problems.push(`AGENT_COMMAND is missing and no default executable (${DEFAULT_EXECUTABLES.join(', ')}) was found`);
  }
  if (problems.length > 0) return { problems };
  return {
    problems,
    agent: {
      name: name!,
      version: version!,
      type,
      description: fields.AGENT_DESCRIPTION?.trim() || null,
      command: command!,
      subscribed_topics: topics,
      findings_topic: findings,
    },
  };
}

/**
 * Every entry of the agents directory that may be a package, sorted: all entries except
 * dot-prefixed files; dot-prefixed folders are listed so that they are reported as ignored.
 */
export function listPackageFolders(agentsDir: string): string[] {
  try {
    return fs
      .readdirSync(agentsDir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.') || e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
