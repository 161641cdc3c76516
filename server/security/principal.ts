// Who is calling: resolved once per request by authenticate.ts, read by the route guard,
// the audit log and the services.
import type { Permission } from './permissions.js';

export type ActorType = 'user' | 'token' | 'host';

export interface Principal {
  type: ActorType;
  /** User id or API token id. */
  id: string;
  /** Username, or the token's name. */
  name: string;
  role: string;
  permissions: ReadonlySet<Permission>;
  /** Set for principals bound to one agent (the `agent` role). */
  agentId?: string;
  /** The access token's jti (user sessions). */
  jti?: string;
  /** Access token expiry (seconds since epoch), for revocation bookkeeping. */
  exp?: number;
  /** The login (refresh-token family) the access token was issued from. */
  sid?: string;
}
