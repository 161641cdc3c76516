// The one typed client of the AMS's REST API: every view calls the AMS through this.
import type { HttpClient, Query } from './http';
import type {
  Agent, AgentConfigVersion, AgentHealthReport, AgentStatusReport, Alert, AlertRule, AlertStatus, ApiToken, AuditEntry, BulkAckResult, ChannelTestResult,
  ConfigApply, ConfigVersion, DiscoveryToken, EffectiveConfig, FleetSeries, FleetStatus, Health, LifecycleAction, LogEntry, Me, MetricsSeries, NewApiToken,
  NewDiscoveryToken, NewSilence, NotificationChannels, Package, PackageScan, PackagesDirectory, PackageStatus, Page, Permission, PutNotificationChannels, RecoveryPolicy,
  RecoveryState, Role, RotatedCredentials, SetupStatus, Silence, StateCounts, StatusHistoryEntry, StoredRecoveryPolicy, User,
} from './types';

const MAX_PAGE = 500;
const enc = encodeURIComponent;

export interface AgentFilter {
  type?: string;
  status?: string;
  health?: string;
  q?: string;
  label?: string[];
}

export interface TimeRangeQuery {
  from?: string;
  to?: string;
}

/** GET /audit's filters (action may end in `*` for a prefix). */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  result?: 'success' | 'failure' | 'denied' | '';
  from?: string;
  to?: string;
}

export interface LogQuery {
  level?: string;
  q?: string;
  since?: string;
  until?: string;
}

export type AmsClient = ReturnType<typeof createAmsClient>;

export function createAmsClient(http: HttpClient) {
  /** Every page of a list, `limit` at a time; `onPage` sees each page as it arrives. */
  async function all<T>(path: string, query: Query = {}, onPage?: (items: T[]) => void, signal?: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await http.get<Page<T>>(path, { query: { ...query, limit: MAX_PAGE, cursor }, signal });
      items.push(...page.items);
      onPage?.(page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return items;
  }

  return {
    http,
    health: () => http.get<Health>('/health', { anonymous: true }),
    me: () => http.get<Me>('/auth/me'),
    /** Public: whether the AMS has no user yet (the console then opens on the setup form). */
    setupStatus: () => http.get<SetupStatus>('/auth/setup', { anonymous: true }),
    fleetStatus: () => http.get<FleetStatus>('/status'),

    agents: {
      list: (filter: AgentFilter & { cursor?: string; limit?: number } = {}) => http.get<Page<Agent>>('/agents', { query: { ...filter } }),
      listAll: (filter: AgentFilter = {}, onPage?: (items: Agent[]) => void, signal?: AbortSignal) => all<Agent>('/agents', { ...filter }, onPage, signal),
      get: (id: string) => http.get<Agent>(`/agents/${enc(id)}`),
      control: (id: string, action: LifecycleAction) => http.post<Agent>(`/agents/${enc(id)}/${action}`),
      status: (id: string) => http.get<AgentStatusReport>(`/agents/${enc(id)}/status`),
      statusHistory: (id: string, q: TimeRangeQuery & { event_type?: string; cursor?: string; limit?: number } = {}) =>
        http.get<Page<StatusHistoryEntry>>(`/agents/${enc(id)}/status/history`, { query: { ...q } }),
      health: (id: string) => http.get<AgentHealthReport>(`/agents/${enc(id)}/health`),
      rotateCredentials: (id: string) => http.post<RotatedCredentials>(`/agents/${enc(id)}/credentials/rotate`),
    },

    config: {
      effective: (id: string) => http.get<EffectiveConfig>(`/agents/${enc(id)}/config`),
      put: (id: string, config: Record<string, unknown>, reason?: string) =>
        http.put<AgentConfigVersion & { apply?: ConfigApply }>(`/agents/${enc(id)}/config`, { config, ...(reason ? { reason } : {}) }),
      history: (id: string, cursor?: string, limit = 100) => http.get<Page<ConfigVersion>>(`/agents/${enc(id)}/config/history`, { query: { cursor, limit } }),
      rollback: (id: string, version: number, reason?: string) =>
        http.post<AgentConfigVersion & { apply?: ConfigApply }>(`/agents/${enc(id)}/config/rollback`, { version, ...(reason ? { reason } : {}) }),
      fleet: () => http.get<ConfigVersion>('/config'),
    },

    recovery: {
      get: (id: string) => http.get<RecoveryState>(`/agents/${enc(id)}/recovery`),
      trigger: (id: string) => http.post<RecoveryState>(`/agents/${enc(id)}/recovery`),
      policy: (id: string) => http.get<StoredRecoveryPolicy>(`/agents/${enc(id)}/recovery/policy`),
      putPolicy: (id: string, policy: Partial<RecoveryPolicy>) => http.put<StoredRecoveryPolicy>(`/agents/${enc(id)}/recovery/policy`, policy),
    },

    metrics: {
      agent: (id: string, q: { from: string; to: string; step?: number; names?: string[] }, signal?: AbortSignal) =>
        http.get<MetricsSeries>(`/agents/${enc(id)}/metrics`, { query: { from: q.from, to: q.to, step: q.step, names: q.names?.join(',') }, signal }),
      fleet: (q: { from: string; to: string; step?: number }, signal?: AbortSignal) => http.get<FleetSeries>('/metrics', { query: { ...q }, signal }),
      stateCounts: (q: { from: string; to: string; step?: number }, signal?: AbortSignal) => http.get<StateCounts>('/status/counts', { query: { ...q }, signal }),
    },

    logs: {
      list: (id: string, q: LogQuery & { cursor?: string; limit?: number } = {}) => http.get<Page<LogEntry>>(`/agents/${enc(id)}/logs`, { query: { ...q } }),
      /** Every line the filter keeps, newest first, up to `max`. */
      all: (id: string, q: LogQuery, max: number) =>
        (async () => {
          const out: LogEntry[] = [];
          let cursor: string | undefined;
          do {
            const page = await http.get<Page<LogEntry>>(`/agents/${enc(id)}/logs`, { query: { ...q, cursor, limit: MAX_PAGE } });
            out.push(...page.items);
            cursor = page.next_cursor ?? undefined;
          } while (cursor && out.length < max);
          return { lines: out.slice(0, max), truncated: !!cursor || out.length > max };
        })(),
    },

    alerts: {
      list: (q: { status?: AlertStatus; severity?: string; agent_id?: string; rule?: string; label?: string[]; sort?: string; cursor?: string; limit?: number } = {}) =>
        http.get<Page<Alert>>('/alerts', { query: { ...q } }),
      ack: (id: number) => http.post<Alert>(`/alerts/${id}/ack`),
      ackMany: (ids: number[]) => http.post<BulkAckResult>('/alerts/ack', { ids }),
      rules: () => http.get<{ items: AlertRule[] }>('/alerts/rules'),
    },

    silences: {
      list: (state: 'active' | 'inactive' | 'all' = 'active', limit = 200) => http.get<Page<Silence>>('/silences', { query: { state, limit } }),
      create: (body: NewSilence) => http.post<Silence>('/silences', body),
      end: (id: number) => http.delete<Silence>(`/silences/${id}`),
    },

    channels: {
      get: () => http.get<NotificationChannels>('/notification-channels'),
      put: (body: PutNotificationChannels) => http.put<NotificationChannels>('/notification-channels', body),
      test: (name: string) => http.post<ChannelTestResult>(`/notification-channels/${enc(name)}/test`),
    },

    users: {
      listAll: () => all<User>('/users'),
      create: (body: { username: string; password: string; role: string; agent_id?: string | null }) => http.post<User>('/users', body),
      update: (id: string, body: { password?: string; role?: string; agent_id?: string | null; disabled?: boolean }) => http.put<User>(`/users/${enc(id)}`, body),
      remove: (id: string) => http.delete<void>(`/users/${enc(id)}`),
    },

    roles: {
      list: () => http.get<{ items: Role[] }>('/roles'),
      create: (body: { name: string; description?: string | null; permissions: Permission[] }) => http.post<Role>('/roles', body),
      update: (name: string, body: { description?: string | null; permissions?: Permission[] }) => http.put<Role>(`/roles/${enc(name)}`, body),
      remove: (name: string) => http.delete<void>(`/roles/${enc(name)}`),
    },

    tokens: {
      listAll: () => all<ApiToken>('/tokens'),
      create: (body: { name: string; role: string; agent_id?: string | null; expires_in?: number | null }) => http.post<NewApiToken>('/tokens', body),
      revoke: (id: string) => http.delete<ApiToken>(`/tokens/${enc(id)}`),
    },

    packages: {
      listAll: (status?: PackageStatus) => all<Package>('/packages', { status }),
      rescan: () => http.post<PackageScan>('/packages/rescan'),
      scan: (id: string) => http.get<PackageScan>(`/packages/scans/${enc(id)}`),
      directory: () => http.get<PackagesDirectory>('/packages/directory'),
    },

    discoveryTokens: {
      list: () => http.get<Page<DiscoveryToken>>('/discovery-tokens', { query: { limit: 100 } }),
      create: (body: { agent_type?: string | null; expires_in?: number | null }) => http.post<NewDiscoveryToken>('/discovery-tokens', body),
      revoke: (id: string) => http.delete<DiscoveryToken>(`/discovery-tokens/${enc(id)}`),
    },

    audit: {
      list: (q: AuditFilter & { cursor?: string; limit?: number } = {}) => http.get<Page<AuditEntry>>('/audit', { query: { ...q } }),
      /** The whole filtered log as NDJSON or CSV text, as the AMS writes it. */
      export: (q: AuditFilter, format: 'ndjson' | 'csv') => http.get<string>('/audit/export', { query: { ...q, format }, text: true }),
    },
  };
}
