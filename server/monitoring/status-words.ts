// Heartbeat status words the protocol does not define (`healthy`, `OK`, ...): the heartbeat
// still counts as proof of life and the word is kept as the agent's reported status; here they
// are counted (Prometheus) and logged, at most once per agent per minute.
import type { Logger } from 'pino';
import { isKnownReportedStatus } from '../broker/protocol.js';

const MAX_LOGGED_AGENTS = 10_000;

export type StatusWordWatch = ReturnType<typeof createStatusWordWatch>;

export function createStatusWordWatch({ logger, now = Date.now, logIntervalMs = 60_000 }: { logger: Logger; now?: () => number; logIntervalMs?: number }) {
  let unknown = 0;
  const lastLogged = new Map<string, number>();
  return {
    /** Notes the word an agent reported; unknown words are counted and logged (rate-limited). */
    note(agentId: string, word: string): void {
      if (isKnownReportedStatus(word)) return;
      unknown += 1;
      const t = now();
      const previous = lastLogged.get(agentId);
      if (previous !== undefined && t - previous < logIntervalMs) return;
      if (lastLogged.size >= MAX_LOGGED_AGENTS) {
        for (const [id, at] of lastLogged) if (t - at >= logIntervalMs) lastLogged.delete(id);
        if (lastLogged.size >= MAX_LOGGED_AGENTS) return;
      }
      lastLogged.set(agentId, t);
      logger.warn(
        { agent: agentId, status: word },
        'heartbeat status word is not one the protocol knows (ready, degraded, stopping); the heartbeat counts as alive and the word is shown as reported (further ones from this agent are not logged for a minute)',
      );
    },
    /** Heartbeats with an unknown status word since start. */
    unknown: () => unknown,
  };
}
