// What the recovery panel says about an agent's recovery, in one sentence that never
// contradicts itself ("can recover" and "in progress" are one state here), and which attempt
// is the latest.
import type { Agent, RecoveryAttempt, RecoveryState } from '../../api/types';
import { relativeTime } from '../common/format';

export type RecoveryPhase = 'recovering' | 'waiting' | 'ready' | 'exhausted' | 'off' | 'unavailable';

/** The newest attempt (the API lists an episode's attempts oldest first). */
export function latestAttempt(attempts: readonly RecoveryAttempt[]): RecoveryAttempt | undefined {
  let best: RecoveryAttempt | undefined;
  for (const a of attempts) {
    if (!best || Date.parse(a.started_at) > Date.parse(best.started_at) || (a.started_at === best.started_at && a.attempt_number > best.attempt_number)) best = a;
  }
  return best;
}

export function recoveryPhase(r: RecoveryState, agent: Pick<Agent, 'recovery'>, nowMs: number): { phase: RecoveryPhase; text: string } {
  const max = r.policy.max_retries;
  const done = r.attempts.length;
  const next = r.next_attempt_at ? Date.parse(r.next_attempt_at) : null;
  if (r.in_progress || agent.recovery === 'in_progress') {
    if (next !== null && next > nowMs) return { phase: 'waiting', text: `Recovering: attempt ${Math.min(done + 1, max)} of ${max} starts ${relativeTime(next, nowMs)}.` };
    return { phase: 'recovering', text: `Recovering: attempt ${Math.max(done, 1)} of ${max} is running.` };
  }
  if (r.recovery_status === 'failed' || (r.remaining === 0 && done > 0 && r.recovery_status !== 'success')) {
    return { phase: 'exhausted', text: `Gave up after ${done} failed attempt${done === 1 ? '' : 's'}: the agent stays down until someone acts. “Recover now” starts over.` };
  }
  if (!r.policy.auto_recovery) return { phase: 'off', text: 'Automatic recovery is off: the AMS does not restart this agent by itself. “Recover now” still works.' };
  if (!r.can_recover) return { phase: 'unavailable', text: 'No recovery can start now (the AMS cannot run this agent: it has no package, or it is disabled).' };
  return { phase: 'ready', text: `Ready: if the agent fails, the AMS restarts it, up to ${max} time${max === 1 ? '' : 's'}.` };
}
