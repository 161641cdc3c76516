// For the AMS side (the supervisor), not for agents: where the built SDK bundle is, to hand to
// agent processes as OPMAS_AGENT_SDK. Not exported from the SDK's index.
import fs from 'node:fs';
import path from 'node:path';

/**
 * The SDK bundle: OPMAS_AGENT_SDK when set, else next to the built server (out/agent-sdk, or its
 * app.asar.unpacked copy in a packaged app), else the source checkout's out/agent-sdk.
 * Undefined when none exists (run `npm run build`).
 */
export function locateAgentSdk(env: NodeJS.ProcessEnv = process.env, here = import.meta.dirname): string | undefined {
  const candidates = [
    env.OPMAS_AGENT_SDK,
    path.resolve(here, '../agent-sdk/index.mjs'), // out/main/server.js -> out/agent-sdk
    path.resolve(here, '../../out/agent-sdk/index.mjs'), // server/agent-sdk/locate.ts -> out/agent-sdk
  ]
    .filter((c): c is string => Boolean(c))
    .flatMap((c) => [c.replace(`${path.sep}app.asar${path.sep}`, `${path.sep}app.asar.unpacked${path.sep}`), c]);
  return candidates.find((c) => fs.existsSync(c));
}
