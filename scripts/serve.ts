// `npm run serve`: the AMS from source (server/main.ts, in this very process, so the ready
// line's pid is the AMS's), after building what it serves and hands to agents when a fresh
// clone or a change calls for it: the web console and the agent SDK bundle.
import path from 'node:path';
import { ensureBuilt } from './ensure-built.js';

const root = path.resolve(import.meta.dirname, '..');
try {
  await ensureBuilt(root, (line) => process.stderr.write(`${line}\n`));
} catch (err) {
  process.stderr.write(`opmas: ${(err as Error).message}\n`);
  process.exit(1);
}
await import('../server/main.js');
