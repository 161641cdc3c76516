// Permissions and the built-in roles (RBAC). A route declares one permission; a role is a
// set of permissions. Policy is data: this table is the whole of it.

export const PERMISSIONS = [
  'agents:read',
  'agents:write',
  'agents:control',
  'config:read',
  'config:write',
  'recovery:trigger',
  'logs:read',
  'metrics:read',
  'alerts:read',
  'alerts:write',
  'packages:read',
  'packages:write',
  'discovery:write',
  'credentials:write',
  'users:admin',
  'audit:read',
  'tokens:admin',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const BUILTIN_ROLES: Record<string, { description: string; permissions: Permission[] }> = {
  admin: { description: 'Everything', permissions: [...PERMISSIONS] },
  operator: {
    description: 'Reads everything but users and audit; controls agents, recovery and configuration',
    permissions: [
      'agents:read', 'agents:control', 'config:read', 'config:write', 'recovery:trigger', 'logs:read', 'metrics:read',
      'alerts:read', 'alerts:write', 'packages:read', 'packages:write', 'discovery:write', 'credentials:write',
    ],
  },
  'read-only': {
    description: 'Reads agents, configuration, logs, metrics, alerts and packages',
    permissions: ['agents:read', 'config:read', 'logs:read', 'metrics:read', 'alerts:read', 'packages:read'],
  },
  agent: {
    description: "Bound to one agent: reads it and updates only that agent's status and configuration",
    permissions: ['agents:read', 'config:read', 'config:write', 'metrics:read', 'logs:read'],
  },
};

/** The role whose principals are bound to one agent ID and see nothing else. */
export const AGENT_ROLE = 'agent';

/** Configuration keys an agent-bound principal may not change in its own configuration. */
export const AGENT_PROTECTED_CONFIG_KEYS = ['nats_url', 'autostart', 'recovery', 'thresholds', 'stop_grace_period', 'stop_timeout'];

export function isPermission(p: string): p is Permission {
  return (PERMISSIONS as readonly string[]).includes(p);
}
