// The static migration list: imported, not read from disk, so the bundled server and the
// packaged app carry every migration. Append new migrations at the end; never edit a landed one.
import type { Knex } from 'knex';
import * as m001 from './20261124000001_create_agents.js';
import * as m002 from './20261124000002_create_agent_configs.js';
import * as m003 from './20261124000003_create_fleet_config_versions.js';
import * as m004 from './20261124000004_create_agent_status.js';
import * as m005 from './20261124000005_create_agent_recovery_attempts.js';
import * as m006 from './20261124000006_create_agent_metrics.js';
import * as m007 from './20261124000007_create_agent_logs.js';
import * as m008 from './20261124000008_create_users_and_roles.js';
import * as m009 from './20261124000009_create_auth_tokens.js';
import * as m010 from './20261124000010_create_audit_log.js';
import * as m011 from './20261124000011_create_discovery_tokens.js';
import * as m012 from './20261124000012_create_agent_packages.js';
import * as m013 from './20261124000013_create_agent_credentials.js';
import * as m014 from './20261124000014_add_reported_status_and_disabled.js';
import * as m015 from './20261124000015_create_agent_recovery_policies.js';
import * as m016 from './20261124000016_add_recovery_attempt_context.js';
import * as m017 from './20261124000017_add_process_exit_and_config_version.js';
import * as m018 from './20261124000018_add_config_version_apply_status.js';
import * as m020 from './20261124000020_index_metrics_time.js';
import * as m021 from './20261124000021_index_agent_logs_time.js';
import * as m022 from './20261124000022_index_process_started.js';
import * as m025 from './20261124000025_create_alerts.js';
import * as m026 from './20261124000026_create_notification_channels.js';
import * as m027 from './20261124000027_create_alert_deliveries.js';
import * as m028 from './20261124000028_create_alert_settings.js';
import * as m041 from './20261124000041_create_revoked_sessions.js';
import * as m042 from './20261124000042_create_rate_limits.js';
import * as m101 from './20261206000001_create_hosts.js';
import * as m102 from './20261206000002_add_desired_state.js';
import * as m103 from './20261206000003_packages_per_host.js';
import * as m104 from './20261206000004_observed_status.js';
import * as m105 from './20261206000005_create_event_outbox.js';
import * as m106 from './20261206000006_revocations_applied.js';
import * as m107 from './20261206000007_create_setup_tokens.js';
import * as m108 from './20261206000008_alert_engine_state.js';
import * as m110 from './20261206000010_create_agent_metric_kinds.js';
import * as m111 from './20261206000011_create_alert_silences.js';
import * as m112 from './20261206000012_add_alert_silence_id.js';
import * as m113 from './20261206000013_index_status_history_time.js';
import * as m114 from './20261206000014_create_metric_rollups.js';

export interface NamedMigration extends Knex.Migration {
  name: string;
}

export const migrations: NamedMigration[] = [
  { name: '20261124000001_create_agents', ...m001 },
  { name: '20261124000002_create_agent_configs', ...m002 },
  { name: '20261124000003_create_fleet_config_versions', ...m003 },
  { name: '20261124000004_create_agent_status', ...m004 },
  { name: '20261124000005_create_agent_recovery_attempts', ...m005 },
  { name: '20261124000006_create_agent_metrics', ...m006 },
  { name: '20261124000007_create_agent_logs', ...m007 },
  { name: '20261124000008_create_users_and_roles', ...m008 },
  { name: '20261124000009_create_auth_tokens', ...m009 },
  { name: '20261124000010_create_audit_log', ...m010 },
  { name: '20261124000011_create_discovery_tokens', ...m011 },
  { name: '20261124000012_create_agent_packages', ...m012 },
  { name: '20261124000013_create_agent_credentials', ...m013 },
  { name: '20261124000014_add_reported_status_and_disabled', ...m014 },
  { name: '20261124000015_create_agent_recovery_policies', ...m015 },
  { name: '20261124000016_add_recovery_attempt_context', ...m016 },
  { name: '20261124000017_add_process_exit_and_config_version', ...m017 },
  { name: '20261124000018_add_config_version_apply_status', ...m018 },
  { name: '20261124000020_index_metrics_time', ...m020 },
  { name: '20261124000021_index_agent_logs_time', ...m021 },
  { name: '20261124000022_index_process_started', ...m022 },
  { name: '20261124000025_create_alerts', ...m025 },
  { name: '20261124000026_create_notification_channels', ...m026 },
  { name: '20261124000027_create_alert_deliveries', ...m027 },
  { name: '20261124000028_create_alert_settings', ...m028 },
  { name: '20261124000041_create_revoked_sessions', ...m041 },
  { name: '20261124000042_create_rate_limits', ...m042 },
  { name: '20261206000001_create_hosts', ...m101 },
  { name: '20261206000002_add_desired_state', ...m102 },
  { name: '20261206000003_packages_per_host', ...m103 },
  { name: '20261206000004_observed_status', ...m104 },
  { name: '20261206000005_create_event_outbox', ...m105 },
  { name: '20261206000006_revocations_applied', ...m106 },
  { name: '20261206000007_create_setup_tokens', ...m107 },
  { name: '20261206000008_alert_engine_state', ...m108 },
  { name: '20261206000010_create_agent_metric_kinds', ...m110 },
  { name: '20261206000011_create_alert_silences', ...m111 },
  { name: '20261206000012_add_alert_silence_id', ...m112 },
  { name: '20261206000013_index_status_history_time', ...m113 },
  { name: '20261206000014_create_metric_rollups', ...m114 },
];
