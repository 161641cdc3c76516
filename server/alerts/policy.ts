// Reads the notification channels of an agent's recovery policy (the supervisor's policy
// store), for critical and escalated alerts.

export function policyChannelsFrom(policyOf: (agentId: string) => Promise<{ notification_channels: string[] }>): (agentId: string) => Promise<string[] | undefined> {
  return async (agentId) => {
    const names = await policyOf(agentId).then(
      (p) => p.notification_channels,
      () => undefined,
    );
    const valid = (names ?? []).filter((n): n is string => typeof n === 'string' && n.length > 0);
    return valid.length > 0 ? valid : undefined;
  };
}
