// What each permission lets a role do, grouped as the permission picker shows them. The text
// is a Record over the API's Permission type: a permission added to the AMS (and so to the
// generated types) without a description here fails the type check.
import type { Permission } from '../../api/types';

export const PERMISSION_TEXT: Record<Permission, string> = {
  'agents:read': 'See agents, their status, health, history and recovery',
  'agents:write': 'Register, change and delete agents',
  'agents:control': 'Start, stop and restart agents; change recovery policies',
  'recovery:trigger': 'Start a recovery by hand',
  'credentials:write': "Rotate agents' NATS credentials",
  'config:read': 'Read effective configuration and its versions',
  'config:write': 'Change, roll back configuration',
  'metrics:read': 'Read metric series (and Prometheus /metrics)',
  'logs:read': 'Read agent logs',
  'alerts:read': 'See alerts and silences',
  'alerts:write': 'Acknowledge alerts, create and end silences',
  'packages:read': 'See discovered packages and scans',
  'packages:write': 'Rescan the agents directory',
  'discovery:write': 'Create and revoke discovery tokens',
  'users:admin': 'Manage users, roles and notification channels',
  'tokens:admin': 'Create and revoke API tokens',
  'audit:read': 'Read and export the audit log',
};

const group = (title: string, ids: Permission[]) => ({ title, permissions: ids.map((id) => ({ id, text: PERMISSION_TEXT[id] })) });

export const PERMISSION_GROUPS: Array<{ title: string; permissions: Array<{ id: Permission; text: string }> }> = [
  group('Agents', ['agents:read', 'agents:write', 'agents:control', 'recovery:trigger', 'credentials:write']),
  group('Configuration', ['config:read', 'config:write']),
  group('Observability', ['metrics:read', 'logs:read', 'alerts:read', 'alerts:write']),
  group('Packages', ['packages:read', 'packages:write', 'discovery:write']),
  group('Administration', ['users:admin', 'tokens:admin', 'audit:read']),
];

export const ALL_PERMISSIONS: Permission[] = PERMISSION_GROUPS.flatMap((g) => g.permissions.map((p) => p.id));

/** The built-in roles (GET /roles lists them too; this is for principals who may not read roles). */
export const BUILTIN_ROLE_NAMES = ['admin', 'operator', 'read-only', 'agent'];
