// Reads the notification channels of an agent's recovery policy, for critical and escalated
// alerts. Until the supervisor keeps the policy in its own table, it lives in the agent's
// configuration under `recovery` (a key agents may not change themselves).
import type { ConfigService } from '../services/config.js';

export function policyChannelsFromConfig(config: Pick<ConfigService, 'effective'>): (agentId: string) => Promise<string[] | undefined> {
  return async (agentId) => {
    const recovery = (await config.effective(agentId)).config.recovery as { notification_channels?: unknown } | undefined;
    const names = recovery?.notification_channels;
    if (!Array.isArray(names)) return undefined;
    const valid = names.filter((n): n is string => typeof n === 'string' && n.length > 0);
    return valid.length > 0 ? valid : undefined;
  };
}
