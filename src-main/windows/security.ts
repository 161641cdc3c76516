// The window's security decisions as pure functions: which URLs are the console, the content
// security policy, navigation and new-window decisions, permission requests and IPC senders.
// main-window.ts only hands Electron's events to these.

/**
 * The console is served from the app itself at opmas://console/ (see console-protocol.ts):
 * the first-run screen works before any AMS exists, the page that gets the preload bridge is
 * always the bundled one (never code served by a remote AMS), and its version matches the
 * preload's. API calls to /api/ on that origin are proxied to the active AMS.
 */
export const CONSOLE_SCHEME = 'opmas';
export const CONSOLE_HOST = 'console';
export const CONSOLE_ORIGIN = `${CONSOLE_SCHEME}://${CONSOLE_HOST}`;
export const CONSOLE_START_URL = `${CONSOLE_ORIGIN}/`;

/** Whether `url` is a page of the bundled console. (URL.origin is "null" for custom schemes, so compare parts.) */
export function isConsoleUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${CONSOLE_SCHEME}:` && u.host === CONSOLE_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

export interface CspOptions {
  /** The active AMS base URL, or null before one is chosen. */
  amsUrl: string | null;
  /** Attach mode: every AMS URL of the profile, so the page reaches the next one after a failover. */
  amsUrls?: string[];
  /** Host mode: the bundled AMS listens on loopback and its port may change across restarts. */
  hostMode: boolean;
}

/** Origins the console may open connections to besides itself: the AMS's HTTP and WebSocket origins. */
export function amsConnectSources(opts: CspOptions): string[] {
  if (opts.hostMode) return ['http://127.0.0.1:*', 'ws://127.0.0.1:*'];
  const out: string[] = [];
  for (const url of [opts.amsUrl, ...(opts.amsUrls ?? [])]) {
    if (!url) continue;
    const u = new URL(url);
    const ws = u.protocol === 'https:' ? 'wss:' : 'ws:';
    for (const source of [`${u.protocol}//${u.host}`, `${ws}//${u.host}`]) if (!out.includes(source)) out.push(source);
  }
  return out;
}

/**
 * What a loaded page's CSP lets it connect to, as one comparable key: the same across a failover
 * within a profile's URLs, different when another AMS (another profile) becomes the active one,
 * which a page loaded before cannot reach until it is loaded again with the new policy.
 */
export function connectSourcesKey(opts: CspOptions): string {
  return [...amsConnectSources(opts)].sort().join(' ');
}

/**
 * The console's Content-Security-Policy: scripts and styles from the bundle only (no inline
 * script, no eval), connections to itself and the active AMS only, no plugins, frames or forms.
 */
export function buildCsp(opts: CspOptions): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'connect-src': ["'self'", ...amsConnectSources(opts)],
    'worker-src': ["'self'"],
    'manifest-src': ["'self'"],
    'object-src': ["'none'"],
    'frame-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ');
}

export type NavigationDecision = { action: 'allow' } | { action: 'deny' };

/** `will-navigate` / `will-redirect`: the window only ever shows the console. */
export function decideNavigation(url: string): NavigationDecision {
  return isConsoleUrl(url) ? { action: 'allow' } : { action: 'deny' };
}

export type WindowOpenDecision = { action: 'deny'; openExternal: string | null };

/**
 * `setWindowOpenHandler`: never a new Electron window. A link the user opens in a new tab
 * (target=_blank) to an http(s) page goes to the system browser; anything else is dropped.
 */
export function decideWindowOpen(details: { url: string; disposition: string }): WindowOpenDecision {
  const userLink = details.disposition === 'foreground-tab' || details.disposition === 'background-tab' || details.disposition === 'new-window';
  return { action: 'deny', openExternal: userLink && isExternalWebUrl(details.url) ? details.url : null };
}

/** http(s) URLs without embedded credentials: the only kind shell.openExternal is given. */
export function isExternalWebUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Permission requests and checks: notifications for the console's own pages, nothing else. */
export function isPermissionAllowed(permission: string, requestingUrl: string): boolean {
  return permission === 'notifications' && isConsoleUrl(requestingUrl);
}

export interface SenderLike {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

/** IPC senders: only the main window's top frame, showing the console. */
export function isTrustedSender(event: SenderLike, mainWebContentsId: number | null): boolean {
  if (mainWebContentsId === null || event.sender.id !== mainWebContentsId) return false;
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isConsoleUrl(frame.url);
}
