// The supervisor's domain errors (mapped to HTTP by server/http/errors.ts through AmsError).
import { AmsError } from '../errors.js';

/** A status change the state machine does not allow: 409 naming the current state. */
export class InvalidTransition extends AmsError {
  constructor(
    readonly current: string,
    readonly requested: string,
    action?: string,
  ) {
    super(
      409,
      'invalid_transition',
      action
        ? `Cannot ${action} the agent: it is ${current} (${current} -> ${requested} is not a valid transition)`
        : `The agent is ${current}; ${current} -> ${requested} is not a valid transition`,
      { current, requested, ...(action ? { action } : {}) },
    );
  }
}

/** The agent cannot be started: no package, disabled, command not runnable. */
export class NotStartable extends AmsError {
  constructor(code: 'package_not_found' | 'agent_disabled' | 'command_not_runnable' | 'agent_sdk_missing', message: string, details?: unknown) {
    super(409, code, message, details);
  }
}

export class RecoveryInProgress extends AmsError {
  constructor(agentId: string, state: string) {
    super(409, 'recovery_in_progress', `A recovery of agent ${agentId} is already ${state}`, { agent_id: agentId, state });
  }
}
