// The console's shell: top bar with navigation, the connection state and the user; the
// current view; the sign-in screen while signed out.
import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useConsoleStore } from './store/context';
import { openAlertCount } from './store/alerts-slice';
import { Link, parseRoute, useLocation } from './router';
import { ConnectionBadge } from './features/common/connection-badge';
import { DashboardView } from './features/dashboard/dashboard-view';
import { AgentView } from './features/agent/agent-view';
import { AlertsView } from './features/alerts/alerts-view';
import { PackagesView } from './features/packages/packages-view';
import { SettingsView } from './features/connect/settings-view';
import { ConnectView } from './features/connect/connect-view';
import { Empty } from './features/common/states';
import { LinkBanner } from './features/common/link';
import { AdminView } from './features/admin/admin-view';
import { FleetOverview } from './features/overview/fleet-overview';

function useTheme() {
  const theme = useConsoleStore((s) => s.theme);
  useEffect(() => {
    const media = matchMedia('(prefers-color-scheme: dark)');
    const apply = () => (document.documentElement.dataset.theme = theme === 'system' ? (media.matches ? 'dark' : 'light') : theme);
    apply();
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [theme]);
}

export function App() {
  useTheme();
  const { pathname, search } = useLocation();
  const route = parseRoute(pathname, search);
  const { session, alerts, me, desktop, link, fleetSearch } = useConsoleStore(
    useShallow((s) => ({ session: s.session.status, alerts: openAlertCount(s.alerts.items), me: s.me, desktop: s.session.desktop, link: s.link.state, fleetSearch: s.fleetSearch })),
  );
  const signedIn = session === 'signed-in';

  useEffect(() => {
    const titles: Record<string, string> = { dashboard: 'Fleet', overview: 'Fleet overview', agent: 'Agent', packages: 'Packages', alerts: 'Alerts', admin: 'Administration', settings: 'Settings', 'not-found': 'Not found' };
    document.title = `${signedIn ? titles[route.name] : 'Sign in'} · OPMAS Console`;
  }, [route.name, signedIn]);

  const nav = [
    { to: `/${fleetSearch}`, text: 'Fleet', active: route.name === 'dashboard' || route.name === 'agent' || route.name === 'overview' },
    { to: '/alerts', text: 'Alerts', active: route.name === 'alerts', badge: alerts },
    { to: '/packages', text: 'Packages', active: route.name === 'packages' },
    { to: '/admin', text: 'Admin', active: route.name === 'admin' },
    { to: '/settings', text: 'Settings', active: route.name === 'settings' },
  ];

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">OPMAS Console</span>
        {signedIn && (
          <nav aria-label="Main">
            <ul>
              {nav.map((n) => (
                <li key={n.to}>
                  <Link to={n.to} className={n.active ? 'active' : undefined} aria-current={n.active ? 'page' : undefined}>
                    {n.text}
                    {n.badge ? (
                      <span className="nav-badge" aria-label={`${n.badge} open`}>
                        {n.badge}
                      </span>
                    ) : null}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div className="topbar-end">
          {desktop?.profile && <span className="profile-name" title="Connection profile">{desktop.profile.name}</span>}
          <ConnectionBadge />
          {signedIn && me && (
            <Link to="/settings" className="user" title={`Signed in as ${me.username} (${me.role})`}>
              {me.username}
            </Link>
          )}
        </div>
      </header>
      <LinkBanner />
      <main id="main" tabIndex={-1} data-link={signedIn ? link : undefined}>
        {!signedIn ? (
          <ConnectView />
        ) : route.name === 'dashboard' ? (
          <DashboardView />
        ) : route.name === 'overview' ? (
          <FleetOverview />
        ) : route.name === 'admin' ? (
          <AdminView section={route.section} />
        ) : route.name === 'agent' ? (
          <AgentView id={route.id} tab={route.tab} at={route.at} />
        ) : route.name === 'alerts' ? (
          <AlertsView />
        ) : route.name === 'packages' ? (
          <PackagesView />
        ) : route.name === 'settings' ? (
          <SettingsView />
        ) : (
          <Empty title="Nothing here" action={<Link to="/">Go to the fleet</Link>}>
            The console has no page at <code>{route.path}</code>.
          </Empty>
        )}
      </main>
    </div>
  );
}
