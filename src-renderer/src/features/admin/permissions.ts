// What each permission lets a role do, grouped as the permission picker shows them. The list of
// permissions comes from the AMS's API types; a unit test fails when one has no description.
import type { Permission } from '../../api/types';

export const PERMISSION_GROUPS: Array<{ title: string; permissions: Array<{ id: Permission; text: string }> }> = [
  {
    title: 'Agents',
    permissions: [
      { id: 'agents:read', text: 'See agents, their status, health, history and recovery' },
      { id: 'agents:write', text: 'Register, change and delete agents' },
      { id: 'agents:control', text: 'Start, stop and restart agents; change recovery policies' },
      { id: 'recovery:trigger', text: 'Start a recovery by hand' },
      { id: 'credentials:write', text: "Rotate agents' NATS credentials" },
    ],
  },
  {
    title: 'Configuration',
    permissions: [
      { id: 'config:read', text: 'Read effective configuration and its versions' },
      { id: 'config:write', text: 'Change, roll back configuration' },
    ],
  },
  {
    title: 'Observability',
    permissions: [
      { id: 'metrics:read', text: 'Read metric series (and Prometheus /metrics)' },
      { id: 'logs:read', text: 'Read agent logs' },
      { id: 'alerts:read', text: 'See alerts and silences' },
      { id: 'alerts:write', text: 'Acknowledge alerts, create and end silences' },
    ],
  },
  {
    title: 'Packages',
    permissions: [
      { id: 'packages:read', text: 'See discovered packages and scans' },
      { id: 'packages:write', text: 'Rescan the agents directory' },
      { id: 'discovery:write', text: 'Create and revoke discovery tokens' },
    ],
  },
  {
    title: 'Administration',
    permissions: [
      { id: 'users:admin', text: 'Manage users, roles and notification channels' },
      { id: 'tokens:admin', text: 'Create and revoke API tokens' },
      { id: 'audit:read', text: 'Read and export the audit log' },
    ],
  },
];

export const ALL_PERMISSIONS: Permission[] = PERMISSION_GROUPS.flatMap((g) => g.permissions.map((p) => p.id));

/** The built-in roles (GET /roles lists them too; this is for principals who may not read roles). */
export const BUILTIN_ROLE_NAMES = ['admin', 'operator', 'read-only', 'agent'];
