// What `npm run serve` needs from a build, made when missing or older than its sources: the web
// console (out/renderer, served at /) and the agent SDK bundle (out/agent-sdk, which agent
// processes import). A fresh clone has neither; an up-to-date tree skips the build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildAgentSdk } from './build-agent-sdk.js';

export interface BuildTarget {
  name: string;
  /** The file whose age stands for the build's. */
  output: string;
  /** Files and folders it is built from (folders are walked). */
  inputs: string[];
}

export function buildTargets(root: string): { console: BuildTarget; agentSdk: BuildTarget } {
  const at = (...p: string[]) => path.join(root, ...p);
  const shared = [at('package-lock.json'), at('electron.vite.config.ts')];
  return {
    console: { name: 'the web console', output: at('out/renderer/index.html'), inputs: [at('src-renderer'), ...shared] },
    // The SDK imports the broker's subjects and protocol and the configuration rules.
    agentSdk: { name: 'the agent SDK', output: at('out/agent-sdk/index.mjs'), inputs: [at('server/agent-sdk'), at('server/broker'), at('server/domain'), at('scripts/build-agent-sdk.ts'), ...shared] },
  };
}

/** The newest modification time under `inputs`, in ms (0 when none exists). */
export function newestMtime(inputs: string[]): number {
  let newest = 0;
  const visit = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) if (name !== 'node_modules' && !name.startsWith('.')) visit(path.join(p, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  inputs.forEach(visit);
  return newest;
}

/** Missing, or older than one of its sources. */
export function isStale(target: BuildTarget): boolean {
  let built: number;
  try {
    built = fs.statSync(target.output).mtimeMs;
  } catch {
    return true;
  }
  return newestMtime(target.inputs) > built;
}

/**
 * Builds what is stale. The console needs the full electron-vite build (which makes the SDK
 * too); the SDK alone is one esbuild call. Progress goes to `say` (stderr: stdout belongs to
 * the AMS's ready line). Throws with the build's output when it fails.
 */
export async function ensureBuilt(root: string, say: (line: string) => void): Promise<string[]> {
  const targets = buildTargets(root);
  const stale = [targets.console, targets.agentSdk].filter(isStale);
  if (stale.length === 0) return [];
  const started = Date.now();
  say(`opmas: building ${stale.map((t) => t.name).join(' and ')} into out/ (once, and again after a change)…`);
  if (stale.includes(targets.console)) {
    const res = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    if (res.status !== 0) throw new Error(`the build failed (npm run build):\n${res.stdout ?? ''}${res.stderr ?? ''}${res.error?.message ?? ''}`);
  } else {
    await buildAgentSdk(path.dirname(targets.agentSdk.output), root);
  }
  say(`opmas: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return stale.map((t) => t.name);
}
