// Client-side routes on the History API: both the AMS (web console) and the desktop app's
// opmas://console protocol answer index.html for any path without an extension.
import { useSyncExternalStore } from 'react';
import type { AnchorHTMLAttributes, MouseEvent } from 'react';

export type AgentTab = 'overview' | 'activity' | 'recovery' | 'config' | 'logs' | 'credentials';
export const AGENT_TABS: AgentTab[] = ['overview', 'activity', 'recovery', 'config', 'logs', 'credentials'];

export type AdminSection = 'users' | 'roles' | 'tokens' | 'channels' | 'audit';
export const ADMIN_SECTIONS: AdminSection[] = ['users', 'roles', 'tokens', 'channels', 'audit'];

export type Route =
  | { name: 'dashboard' }
  | { name: 'overview' }
  | { name: 'admin'; section: AdminSection }
  | { name: 'agent'; id: string; tab: AgentTab; at: number | null }
  | { name: 'packages' }
  | { name: 'alerts' }
  | { name: 'settings' }
  | { name: 'not-found'; path: string };

export function parseRoute(pathname: string, search = ''): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: 'dashboard' };
  if (parts[0] === 'agents' && parts[1]) {
    const tab = (parts[2] ?? 'overview') as AgentTab;
    if (!AGENT_TABS.includes(tab) || parts.length > 3) return { name: 'not-found', path: pathname };
    const at = Number(new URLSearchParams(search).get('at'));
    return { name: 'agent', id: parts[1], tab, at: Number.isFinite(at) && at > 0 ? at : null };
  }
  if (parts.length === 1 && (parts[0] === 'packages' || parts[0] === 'alerts' || parts[0] === 'settings' || parts[0] === 'overview')) return { name: parts[0] };
  if (parts[0] === 'admin' && parts.length <= 2) {
    const section = (parts[1] ?? 'users') as AdminSection;
    return ADMIN_SECTIONS.includes(section) ? { name: 'admin', section } : { name: 'not-found', path: pathname };
  }
  return { name: 'not-found', path: pathname };
}

export const agentPath = (id: string, tab: AgentTab = 'overview', at?: number) =>
  `/agents/${encodeURIComponent(id)}${tab === 'overview' ? '' : `/${tab}`}${at ? `?at=${Math.round(at)}` : ''}`;

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());

function subscribe(l: () => void) {
  listeners.add(l);
  window.addEventListener('popstate', l);
  return () => {
    listeners.delete(l);
    window.removeEventListener('popstate', l);
  };
}

const snapshot = () => `${location.pathname}${location.search}`;

export function useLocation(): { pathname: string; search: string } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const q = href.indexOf('?');
  return q < 0 ? { pathname: href, search: '' } : { pathname: href.slice(0, q), search: href.slice(q) };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
