// The agents directory on first run: web mode and host mode alike get it under the data dir,
// with the sample agents copied in when it does not exist yet, so that a new user has agents
// to start and a model to follow. An existing directory is never touched.
import fs from 'node:fs';
import path from 'node:path';

export interface AgentsDirectoryReport {
  path: string;
  /** True when this start created the directory. */
  created: boolean;
  /** The sample packages copied into it (folder names); empty when none were. */
  samplesCopied: string[];
  /** Where they were copied from. */
  samplesFrom?: string;
  /** Why the samples could not be copied (the directory is then created empty). */
  samplesError?: string;
}

const STAGING_PREFIX = '.opmas-agents-staging-';

/** Folders of `dir` that hold a `.env.discovery` (what the scanner would look at). */
function packageFolders(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, '.env.discovery')))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The sample agent packages the AMS can offer: `<resourcesDir>/agents` in the packaged app
 * (host mode passes its resources folder), else the source checkout's `resources/agents`,
 * seen from `server/` (tsx) or from `out/main/` (the built entry). Only a folder that holds
 * at least one package counts.
 */
export function locateSampleAgents(resourcesDir: string | undefined, here: string = import.meta.dirname): string | undefined {
  const candidates = [
    resourcesDir && path.join(resourcesDir, 'agents'),
    path.resolve(here, '../resources/agents'),
    path.resolve(here, '../../resources/agents'),
  ].filter((c): c is string => Boolean(c));
  return candidates.find((c) => packageFolders(c).length > 0);
}

/**
 * Creates the agents directory when it does not exist, with the sample packages in it. The
 * copy is made in a staging folder beside it and renamed into place, so a start killed halfway
 * leaves either no directory (the next start copies again) or a whole one; a stale staging
 * folder is removed.
 */
export function prepareAgentsDirectory(agentsDir: string, samplesDir: string | undefined): AgentsDirectoryReport {
  const parent = path.dirname(agentsDir);
  fs.mkdirSync(parent, { recursive: true });
  for (const name of fs.readdirSync(parent)) {
    if (name.startsWith(`${STAGING_PREFIX}${path.basename(agentsDir)}-`)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  if (fs.existsSync(agentsDir)) return { path: agentsDir, created: false, samplesCopied: [] };
  const samples = samplesDir ? packageFolders(samplesDir) : [];
  if (samples.length === 0) {
    fs.mkdirSync(agentsDir, { recursive: true });
    return { path: agentsDir, created: true, samplesCopied: [] };
  }
  const staging = path.join(parent, `${STAGING_PREFIX}${path.basename(agentsDir)}-${process.pid}`);
  try {
    fs.mkdirSync(staging);
    for (const name of samples) {
      // Symbolic links are copied as links, never followed out of the samples folder.
      fs.cpSync(path.join(samplesDir!, name), path.join(staging, name), { recursive: true, verbatimSymlinks: true });
    }
    fs.renameSync(staging, agentsDir);
    return { path: agentsDir, created: true, samplesCopied: samples, samplesFrom: samplesDir };
  } catch (err) {
    // Samples are a convenience: the AMS starts with an empty directory rather than not at all.
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(agentsDir, { recursive: true });
    return { path: agentsDir, created: true, samplesCopied: [], samplesFrom: samplesDir, samplesError: (err as Error).message };
  }
}

/** A valid `.env.discovery`, shown to people who are about to write one (the console's empty views). */
export const ENV_DISCOVERY_EXAMPLE = `AGENT_NAME=MyAgent
AGENT_VERSION=1.0.0
AGENT_DESCRIPTION=What the agent watches
AGENT_TYPE=custom
AGENT_COMMAND=node agent.mjs
DEFAULT_SUBSCRIBED_TOPICS=logs.custom
DEFAULT_FINDINGS_TOPIC=findings.custom
`;
