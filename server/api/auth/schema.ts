// Schemas of /auth, /users, /roles, /tokens and /audit.
import { z } from 'zod';
import { PERMISSIONS } from '../../security/permissions.js';
import { pageOf, paginationQuery } from '../common.js';

export const Username = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'must be 1-64 letters, digits, ., _, @ or -');
export const Password = z.string().min(10, 'must be at least 10 characters').max(256, 'must be at most 256 characters');
export const RoleName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a lower-case slug');
export const PermissionSchema = z.enum(PERMISSIONS);

export const LoginBody = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });
export const RefreshBody = z.strictObject({ refresh_token: z.string().min(1).max(200) });
export const LogoutBody = z.strictObject({ refresh_token: z.string().min(1).max(200).optional() });
export const SetupBody = z.strictObject({ token: z.string().min(1).max(200), username: Username, password: Password });
export const HostSessionBody = z.strictObject({ secret: z.string().min(1).max(500) });

export const TokenPairSchema = z
  .object({ access_token: z.string(), refresh_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int() })
  .meta({ id: 'TokenPair' });

export const MeSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    type: z.enum(['user', 'token', 'host']),
    role: z.string(),
    permissions: z.array(z.string()),
    agent_id: z.string().nullable(),
  })
  .meta({ id: 'Me' });

export const UserSchema = z
  .object({ id: z.string(), username: z.string(), role: z.string(), agent_id: z.string().nullable(), disabled: z.boolean(), created_at: z.string(), updated_at: z.string() })
  .meta({ id: 'User' });
export const UserPage = pageOf(UserSchema, 'UserPage');
export const CreateUserBody = z.strictObject({ username: Username, password: Password, role: RoleName, agent_id: z.string().max(128).nullable().optional() });
export const UpdateUserBody = z.strictObject({
  password: Password.optional(),
  role: RoleName.optional(),
  agent_id: z.string().max(128).nullable().optional(),
  disabled: z.boolean().optional(),
});
export const SetupStatusSchema = z
  .object({ setup_required: z.boolean().describe('True while the AMS has no user and waits for its first admin (POST /auth/setup with the token it printed)') })
  .meta({ id: 'SetupStatus' });
export const SetupAnswer = TokenPairSchema.extend({ user: UserSchema }).meta({ id: 'SetupAnswer' });

export const RoleSchema = z
  .object({ name: z.string(), description: z.string().nullable(), permissions: z.array(z.string()), builtin: z.boolean() })
  .meta({ id: 'Role' });
export const RoleList = z.object({ items: z.array(RoleSchema), next_cursor: z.null() }).meta({ id: 'RoleList' });
export const CreateRoleBody = z.strictObject({ name: RoleName, description: z.string().max(500).nullable().optional(), permissions: z.array(PermissionSchema).max(64) });
export const UpdateRoleBody = z.strictObject({ description: z.string().max(500).nullable().optional(), permissions: z.array(PermissionSchema).max(64).optional() });

export const ApiTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.string(),
    agent_id: z.string().nullable(),
    created_by: z.string(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });
export const NewApiTokenSchema = ApiTokenSchema.extend({ token: z.string().describe('Shown once; store it now') }).meta({ id: 'NewApiToken' });
export const ApiTokenPage = pageOf(ApiTokenSchema, 'ApiTokenPage');
export const CreateTokenBody = z.strictObject({
  name: z.string().min(1).max(128),
  role: RoleName,
  agent_id: z.string().max(128).nullable().optional(),
  expires_in: z.number().int().min(60).max(5 * 365 * 24 * 3600).nullable().optional().describe('Seconds; omit for no expiry'),
});

export const AuditEntrySchema = z
  .object({
    id: z.number().int(),
    time: z.string(),
    actor: z.object({ type: z.string(), id: z.string().nullable(), name: z.string().nullable(), role: z.string().nullable() }),
    action: z.string(),
    target: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    source: z.string().nullable(),
    result: z.enum(['success', 'failure', 'denied']),
    status: z.number().int().nullable(),
    correlation_id: z.string().nullable(),
    details: z.unknown(),
  })
  .meta({ id: 'AuditEntry' });
export const AuditPage = pageOf(AuditEntrySchema, 'AuditPage');

/** The longest time range one audit query may span. */
export const MAX_AUDIT_RANGE_DAYS = 366;
const auditFilters = {
  actor: z.string().max(128).optional().describe("The actor's name (user, token or agent)"),
  action: z.string().max(64).optional().describe('An action (`user.update`), or a prefix ending in `*` (`user.*`)'),
  target: z.string().max(255).optional(),
  result: z.enum(['success', 'failure', 'denied']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
};

const auditRange = (q: { from?: string; to?: string }, ctx: z.RefinementCtx) => {
  if (q.from && q.to) {
    const span = Date.parse(q.to) - Date.parse(q.from);
    if (span < 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    if (span > MAX_AUDIT_RANGE_DAYS * 86_400_000) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may span at most ${MAX_AUDIT_RANGE_DAYS} days` });
  }
};

export const AuditQuery = z.object({ ...paginationQuery, ...auditFilters }).superRefine(auditRange);

export const AuditExportQuery = z
  .object({ ...auditFilters, format: z.enum(['ndjson', 'csv']).default('ndjson').describe('ndjson: one JSON entry per line; csv: a header row, then one row per entry') })
  .superRefine(auditRange);

export const UserIdParams = z.object({ id: z.string().max(64) });
export const RoleParams = z.object({ name: z.string().max(64) });
export const UsersQuery = z.object(paginationQuery);
