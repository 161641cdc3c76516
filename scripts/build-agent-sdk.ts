// Bundles the agent SDK (server/agent-sdk) with its dependencies into one ESM file that plain
// Node runs without node_modules or a TypeScript loader: out/agent-sdk/index.mjs. Agent
// packages live outside the app (resources/agents, the user's agents dir), so they cannot
// resolve the app's node_modules; they load this file through OPMAS_AGENT_SDK instead.
import path from 'node:path';
import { build } from 'esbuild';

const repoRoot = path.resolve(import.meta.dirname, '..');

/** Builds the bundle into `outDir` and returns the entry file's path; `root` is the repository (callers that are themselves bundled pass it). */
export async function buildAgentSdk(outDir: string, root = repoRoot): Promise<string> {
  const outfile = path.join(outDir, 'index.mjs');
  await build({
    entryPoints: [path.join(root, 'server/agent-sdk/index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    legalComments: 'linked',
    logLevel: 'warning',
    // The NATS client is CommonJS; inside an ES module its require() of Node built-ins needs this.
    banner: { js: "import { createRequire as __opmasCreateRequire } from 'node:module';\nconst require = __opmasCreateRequire(import.meta.url);" },
  });
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const out = await buildAgentSdk(path.join(repoRoot, 'out/agent-sdk'));
  console.log(`agent SDK bundled: ${path.relative(repoRoot, out)}`);
}
