// The one typed client of the AMS's REST API: every view calls the AMS through this.
import type { HttpClient, Query } from './http';
import type {
  Agent, AgentConfigVersion, AgentHealthReport, AgentStatusReport, Alert, AlertStatus, AuditEntry, ConfigApply, ConfigVersion, DiscoveryToken,
  EffectiveConfig, FleetStatus, Health, LifecycleAction, LogEntry, Me, MetricsSeries, NewDiscoveryToken, Package, PackageScan, PackagesDirectory, PackageStatus, Page,
  RecoveryPolicy, RecoveryState, RotatedCredentials, SetupStatus, StatusHistoryEntry, StoredRecoveryPolicy,
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
    },

    logs: {
      list: (id: string, q: { level?: string; q?: string; since?: string; until?: string; cursor?: string; limit?: number } = {}) =>
        http.get<Page<LogEntry>>(`/agents/${enc(id)}/logs`, { query: { ...q } }),
    },

    alerts: {
      list: (q: { status?: AlertStatus; severity?: string; agent_id?: string; cursor?: string; limit?: number } = {}) => http.get<Page<Alert>>('/alerts', { query: { ...q } }),
      ack: (id: number) => http.post<Alert>(`/alerts/${id}/ack`),
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
      list: (q: { cursor?: string; limit?: number; action?: string } = {}) => http.get<Page<AuditEntry>>('/audit', { query: { ...q } }),
    },
  };
}
