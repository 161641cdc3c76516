// Process status transitions (DESIGN.md, seed §6.1) as a table, with pure functions. The
// supervisor asks before every change; anything not in the table is refused.

import { isProcessState, PROCESS_STATES, type ProcessState } from './statuses.js';

export { isProcessState, PROCESS_STATES, type ProcessState };

/**
 * Allowed transitions: the table of DESIGN.md plus two rows it leaves out.
 * - `degraded -> stopping`: an operator must be able to stop an agent that is running but degraded.
 * - `starting -> failed`: a process that could not be spawned at all (the executable vanished,
 *   EACCES, EAGAIN), or an AMS that died between asking for a start and seeing the process.
 */
export const TRANSITIONS: Readonly<Record<ProcessState, readonly ProcessState[]>> = {
  discovered: ['registered'],
  registered: ['starting'],
  starting: ['running', 'failed'],
  running: ['stopping', 'failed', 'degraded'],
  stopping: ['stopped'],
  stopped: ['starting'],
  failed: ['starting'],
  degraded: ['running', 'failed', 'stopping'],
};

export function canTransition(from: ProcessState, to: ProcessState): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

/** States in which the agent's process exists (or is being started or stopped). */
export const LIVE_STATES: readonly ProcessState[] = ['starting', 'running', 'stopping', 'degraded'];

export const isLive = (s: ProcessState): boolean => LIVE_STATES.includes(s);

/** Operator actions and the transition each begins with. */
export type LifecycleAction = 'start' | 'stop' | 'restart';

/** The first transition an action needs from `from`, or undefined when the action is not possible there. */
export function firstStepOf(action: LifecycleAction, from: ProcessState): ProcessState | undefined {
  switch (action) {
    case 'start':
      return canTransition(from, 'starting') ? 'starting' : undefined;
    case 'stop':
      return canTransition(from, 'stopping') ? 'stopping' : undefined;
    case 'restart':
      return canTransition(from, 'stopping') ? 'stopping' : canTransition(from, 'starting') ? 'starting' : undefined;
  }
}

/** The state an action is asking for, for error messages (`requested` in a 409's details). */
export function targetOf(action: LifecycleAction): ProcessState {
  return action === 'stop' ? 'stopping' : 'starting';
}
