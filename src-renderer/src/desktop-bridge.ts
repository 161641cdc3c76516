// The desktop app's bridge (window.opmas, from the preload), typed; undefined in a plain
// browser, where the same renderer is served by the AMS as the web console.
import type { OpmasApi } from '../../src-preload/console-api.js';

export type * from '../../src-preload/console-api.js';

export function desktopBridge(): OpmasApi | undefined {
  return (globalThis as { opmas?: OpmasApi }).opmas;
}
