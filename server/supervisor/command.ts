// How an agent package is run: its command line split into argv without a shell, `node`
// mapped to the runtime the AMS itself runs on, and the exact environment an agent gets
// (DESIGN.md): nothing of the AMS's own environment beyond PATH and HOME, no secrets.
import fs from 'node:fs';
import path from 'node:path';

export class CommandError extends Error {}

/**
 * Splits a command line into words: whitespace separates, single and double quotes group,
 * a backslash escapes the next character outside single quotes. No variables, globs or pipes.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new CommandError(`unterminated ${quote} quote in ${JSON.stringify(line)}`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new CommandError('the command is empty');
  return words;
}

export interface Runtime {
  /** process.execPath of the AMS. */
  execPath: string;
  /** Set when the AMS runs inside Electron (process.versions.electron). */
  electron: boolean;
  platform: NodeJS.Platform;
}

export const currentRuntime = (): Runtime => ({ execPath: process.execPath, electron: Boolean(process.versions.electron), platform: process.platform });

export interface ResolvedCommand {
  file: string;
  args: string[];
  /** Whether `node` was mapped to the AMS's own runtime. */
  node: boolean;
}

/**
 * The executable and arguments for a package's command, run in `cwd`. `node` is the AMS's
 * own runtime (the packaged app may have no node on PATH); a relative path is taken in the
 * package folder; a bare name is looked up on PATH. CommandError when it cannot be run.
 */
export function resolveCommand(line: string, cwd: string, pathEnv: string | undefined, runtime: Runtime = currentRuntime()): ResolvedCommand {
  const [first, ...args] = splitCommand(line);
  if (first === 'node' || first === 'node.exe') return { file: runtime.execPath, args, node: true };
  const candidates = first.includes('/') || first.includes(path.sep) ? [path.resolve(cwd, first)] : (pathEnv ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, first));
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return { file, args, node: false };
    } catch {
      // try the next candidate
    }
  }
  throw new CommandError(
    first.includes('/') ? `${first} does not exist in the package folder or is not executable` : `${first} was not found on PATH or is not executable`,
  );
}

export interface AgentEnvInput {
  agentId: string;
  natsUrl: string;
  credsFile: string;
  config: Record<string, unknown>;
  agentSdk: string | undefined;
  /** The AMS's environment: only PATH, HOME (and what Windows needs to run anything) are passed on. */
  amsEnv: NodeJS.ProcessEnv;
  /** A CA file for the broker's TLS certificate, when the AMS was given one. */
  tlsCa?: string;
  node: boolean;
  runtime?: Runtime;
}

const WINDOWS_BASICS = ['SYSTEMROOT', 'SystemRoot', 'WINDIR', 'TEMP', 'TMP', 'PATHEXT', 'COMSPEC'];

/** The complete environment of an agent process: built from nothing, never copied from the AMS. */
export function agentEnvironment(input: AgentEnvInput): Record<string, string> {
  const runtime = input.runtime ?? currentRuntime();
  const env: Record<string, string> = {};
  const pass = (name: string) => {
    const v = input.amsEnv[name];
    if (v !== undefined) env[name] = v;
  };
  pass('PATH');
  pass('HOME');
  if (runtime.platform === 'win32') {
    pass('Path');
    pass('USERPROFILE');
    for (const name of WINDOWS_BASICS) pass(name);
  }
  env.OPMAS_AGENT_ID = input.agentId;
  env.OPMAS_NATS_URL = input.natsUrl;
  env.OPMAS_NATS_CREDS = input.credsFile;
  env.OPMAS_CONFIG = JSON.stringify(input.config);
  if (input.agentSdk) env.OPMAS_AGENT_SDK = input.agentSdk;
  if (input.tlsCa) env.OPMAS_NATS_TLS_CA = input.tlsCa;
  // The Electron binary is a Node runtime only when told so.
  if (input.node && runtime.electron) env.ELECTRON_RUN_AS_NODE = '1';
  return env;
}
