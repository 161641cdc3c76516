// The desktop bridge contract: the shape of `window.opmas` and the values that cross it.
// Types only, no imports: the main process, the preload and the renderer all import it, and
// the renderer must not pull in electron or Node through it.

export type ConnectionMode = 'host' | 'attach';

/** A saved way to reach an AMS. Attach profiles name a remote URL; a host profile runs the bundled AMS. */
export interface Profile {
  id: string;
  name: string;
  mode: ConnectionMode;
  /** Attach mode: the AMS base URL (http or https, no query); with several, the first of `urls`. */
  url?: string;
  /**
   * Attach mode with more than one URL (replicas of one AMS cluster): all of them in order, the
   * first being `url`. The console fails over to the next when the one it is on stops answering.
   * Absent for a single URL, as profiles were before.
   */
  urls?: string[];
  /** Attach mode: the user name last used to log in, to prefill the form. */
  username?: string;
}

export interface NewProfile {
  name: string;
  mode: ConnectionMode;
  /** One AMS URL; or `urls`, several in order (not both). */
  url?: string;
  urls?: string[];
  username?: string;
}

export interface ProfilePatch {
  name?: string;
  /** Replaces the profile's URLs with this one; `urls` replaces them with several (not both). */
  url?: string;
  urls?: string[];
  username?: string;
}

export interface ProfileList {
  profiles: Profile[];
  /** The profile the app opens with; null on first run. */
  lastUsedId: string | null;
}

export type HostStatus = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface HostState {
  status: HostStatus;
  url: string | null;
  pid: number | null;
  /** Consecutive restarts since the AMS last stayed up for the stability window. */
  attempt: number;
  /** When the next restart is due (epoch ms), while restarting. */
  nextRestartAt: number | null;
  /** Why the AMS last exited or failed, without any secret. */
  lastError: string | null;
}

export type SessionStatus = 'signed-out' | 'signing-in' | 'signed-in' | 'expired' | 'offline';

export interface SessionState {
  status: SessionStatus;
  username: string | null;
  /** When the current access token expires (epoch ms). */
  expiresAt: number | null;
  /** The last failure, as a code and a sentence. */
  error: BridgeError | null;
}

/** The console moved from one AMS URL of the profile to the next. */
export interface Failover {
  from: string;
  to: string;
  /** When (epoch ms). */
  at: number;
  /** Why `from` was left, in a few words ("did not answer (ECONNREFUSED)"). */
  reason: string;
}

/** Attach mode: the profile's AMS URLs, which one the console is on, and its last failover. */
export interface AttachState {
  urls: string[];
  /** Index in `urls` of the one in use (`amsUrl`). */
  current: number;
  /** The last move to another URL since the profile was opened; null while on the first. */
  failover: Failover | null;
}

export interface ConnectionInfo {
  /** The active profile; null on first run. */
  profile: Profile | null;
  /** Base URL of the AMS the console talks to (no trailing slash); null while unknown. */
  amsUrl: string | null;
  /** Host mode: the bundled AMS process; null in attach mode. */
  host: HostState | null;
  /** Attach mode: the URLs and failover; null in host mode and before a profile is active. */
  attach: AttachState | null;
  session: SessionState;
}

export interface AppInfo {
  name: string;
  version: string;
  electron: string;
  chrome: string;
  node: string;
  platform: string;
  arch: string;
}

export type AlertSeverity = 'info' | 'warning' | 'critical';

/** An alert from the AMS's live event stream, as the renderer receives it. */
export interface AlertEvent {
  id: string;
  severity: AlertSeverity;
  title: string;
  agent_id?: string;
  /** The host of a host alert (host_down), which has no agent. */
  host_id?: string;
  message: string;
}

export interface NotificationSettings {
  /** The OS can show notifications. */
  supported: boolean;
  /** The user lets the console show them. */
  enabled: boolean;
  /** Alerts below this severity are not shown. */
  minSeverity: AlertSeverity;
}

/** Agent counts per health, as the dashboard computes them. */
export interface FleetCounts {
  healthy: number;
  warning: number;
  critical: number;
  unknown: number;
}

export interface BridgeError {
  code: string;
  message: string;
}

/** What every bridge verb resolves to: errors are values, never thrown across the bridge. */
export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: BridgeError };

export type Unsubscribe = () => void;

/** Application menu items the renderer acts on. */
export type MenuCommand = 'manage-profiles';

/** `window.opmas`, exposed by the preload in the desktop app; absent in a plain browser. */
export interface OpmasApi {
  app: {
    info(): Promise<BridgeResult<AppInfo>>;
    /** Called when the user picks a menu item the renderer handles (e.g. Connection > Manage Profiles). */
    onMenuCommand(listener: (command: MenuCommand) => void): Unsubscribe;
  };
  connection: {
    /** The active profile, the AMS URL, host process state and session state. */
    info(): Promise<BridgeResult<ConnectionInfo>>;
    /** A valid access token for the AMS (refreshed when close to expiry); null when signed out. */
    accessToken(): Promise<BridgeResult<string | null>>;
    /** Called whenever the connection info changes (profile switch, host restart, sign-in, expiry, failover). */
    onChange(listener: (info: ConnectionInfo) => void): Unsubscribe;
    /**
     * The live stream to `url` dropped and did not come back after `attempts` tries: when `url`
     * is the attach profile's URL in use, the profile has another, and `url` does not answer
     * over HTTP either, the console fails over; resolves whether it did.
     */
    reportStreamDown(url: string, attempts: number): Promise<BridgeResult<boolean>>;
  };
  profiles: {
    list(): Promise<BridgeResult<ProfileList>>;
    create(profile: NewProfile): Promise<BridgeResult<Profile>>;
    update(id: string, patch: ProfilePatch): Promise<BridgeResult<Profile>>;
    /** Removes the profile and forgets its stored credential. */
    remove(id: string): Promise<BridgeResult<ProfileList>>;
    /** Makes the profile active (starts or stops the bundled AMS as needed) and remembers it. */
    switchTo(id: string): Promise<BridgeResult<ConnectionInfo>>;
  };
  credentials: {
    /** Attach mode: logs in to the active profile's AMS; the refresh token goes to the OS keychain. */
    login(username: string, password: string): Promise<BridgeResult<SessionState>>;
    /** Logs out of the active profile and deletes its stored refresh token. */
    logout(): Promise<BridgeResult<SessionState>>;
    /** Whether the OS keychain holds a refresh token for the profile. */
    has(profileId: string): Promise<BridgeResult<boolean>>;
    /** Deletes the profile's stored refresh token. */
    forget(profileId: string): Promise<BridgeResult<boolean>>;
  };
  notifications: {
    settings(): Promise<BridgeResult<NotificationSettings>>;
    update(settings: Partial<Pick<NotificationSettings, 'enabled' | 'minSeverity'>>): Promise<BridgeResult<NotificationSettings>>;
    /** Hands an alert from the live stream to the desktop notifier; resolves whether it was shown. */
    alert(alert: AlertEvent): Promise<BridgeResult<boolean>>;
    /** Called with the alert when the user clicks its desktop notification. */
    onClick(listener: (alert: AlertEvent) => void): Unsubscribe;
  };
  fleet: {
    /** Reports the fleet's health counts for the tray and menu. */
    reportHealth(counts: FleetCounts): Promise<BridgeResult<void>>;
  };
}
