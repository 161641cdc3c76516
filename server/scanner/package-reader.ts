// Reads and validates one agent package folder: its `.env.discovery` (a real dotenv parser)
// against DESIGN.md's package format. Never follows a symbolic link and never reads outside
// the agents directory; every problem is reported, none is thrown.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import semver from 'semver';
import { AGENT_NAME_PATTERN, AGENT_TYPE_MAX, AGENT_TYPE_PATTERN, defaultAgentType, natsSubjectProblem } from '../domain/identifiers.js';
import { reservedTopicProblem } from '../broker/subjects.js';

export const DISCOVERY_FILE = '.env.discovery';
const MAX_DISCOVERY_BYTES = 64 * 1024;
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
  const dir = path.join(agentsDir, name);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return fail('the folder disappeared while it was read');
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
  const text = fs.readFileSync(file);
  reading.checksum = createHash('sha256').update(text).digest('hex');
  reading.fields = dotenv.parse(text);
  const validated = validateFields(reading.fields, (exe) => defaultExecutable(dir, exe));
  reading.problems.push(...validated.problems);
  if (validated.problems.length === 0) reading.agent = validated.agent;
  return reading;
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

/** Every package folder name in the agents directory (hidden entries skipped). */
export function listPackageFolders(agentsDir: string): string[] {
  try {
    return fs
      .readdirSync(agentsDir)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
