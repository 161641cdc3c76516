// Connection and settings: who is signed in and how (browser or desktop profile), the AMS's
// health and versions, theme, desktop notifications, and the audit log for those allowed.
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useConsole, useConsoleStore } from '../../store/context';
import { desktopBridge, type AlertSeverity, type NotificationSettings } from '../../desktop-bridge';
import { unwrapBridge } from '../../api/session';
import type { ThemeChoice } from '../../store/ui-slice';
import { AsyncView, Empty, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { compactDateTime, dateTime } from '../common/format';
import { AmsHealthPanel } from './ams-health';
import { ProfilesPanel } from './profiles-panel';
import { ColumnHeads } from '../common/column-heads';
import { Link } from '../../router';

export function SettingsView() {
  const { session } = useConsole();
  const { me, view, theme, setTheme, canAudit } = useConsoleStore(
    useShallow((s) => ({ me: s.me, view: s.session, theme: s.theme, setTheme: s.setTheme, canAudit: s.can('audit:read') })),
  );
  const bridge = desktopBridge();
  return (
    <section className="view settings" aria-labelledby="settings-title">
      <header className="view-header">
        <h1 id="settings-title">Connection and settings</h1>
      </header>
      <div className="columns">
        <div>
          <section className="panel" aria-labelledby="account-title">
            <h2 id="account-title">Signed in</h2>
            <p>
              <strong>{me?.username ?? view.username}</strong>
              {me && ` · role ${me.role}`} · {bridge ? (view.desktop?.profile?.mode === 'host' ? 'host mode (the AMS bundled with this app)' : `attach mode to ${view.desktop?.amsUrl}`) : `web console at ${location.origin}`}
            </p>
            {me && <p className="muted small">Permissions: {me.permissions.join(', ')}</p>}
            {!(bridge && view.desktop?.profile?.mode === 'host') && (
              <button type="button" onClick={() => void session.logout()}>
                Sign out
              </button>
            )}
          </section>
          <AmsHealthPanel />
          <section className="panel" aria-labelledby="appearance-title">
            <h2 id="appearance-title">Appearance</h2>
            <label className="field inline">
              <span>Theme</span>
              <select aria-label="Theme" value={theme} onChange={(e) => setTheme(e.target.value as ThemeChoice)}>
                <option value="system">Follow the system</option>
                <option value="light">Light</option>
                <option value="dark">Dark</option>
              </select>
            </label>
          </section>
          {bridge && <AppInfo />}
        </div>
        <div>
          {bridge && <ProfilesPanel bridge={bridge} activeId={view.desktop?.profile?.id ?? null} />}
          {bridge && <NotificationsPanel />}
          {canAudit && <AuditPanel />}
        </div>
      </div>
    </section>
  );
}

function AppInfo() {
  const bridge = desktopBridge()!;
  const info = useResource(() => unwrapBridge(bridge.app.info()), [bridge]);
  return (
    <section className="panel" aria-labelledby="app-title">
      <h2 id="app-title">This app</h2>
      <AsyncView state={info.state} what="the app versions" retry={() => void info.reload()}>
        {(i) => (
          <p>
            {i.name} {i.version} · Electron {i.electron} · Chrome {i.chrome} · Node {i.node} · {i.platform}/{i.arch}
          </p>
        )}
      </AsyncView>
    </section>
  );
}

function NotificationsPanel() {
  const bridge = desktopBridge()!;
  const settings = useResource(() => unwrapBridge(bridge.notifications.settings()), [bridge]);
  const [error, setError] = useState<unknown>(null);
  const update = async (patch: Partial<Pick<NotificationSettings, 'enabled' | 'minSeverity'>>) => {
    try {
      settings.set(await unwrapBridge(bridge.notifications.update(patch)));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="panel" aria-labelledby="notif-title">
      <h2 id="notif-title">Desktop notifications</h2>
      {error !== null && <InlineError what="save the notification settings" error={error} />}
      <AsyncView state={settings.state} what="the notification settings" retry={() => void settings.reload()}>
        {(s) =>
          !s.supported ? (
            <p>This system cannot show notifications.</p>
          ) : (
            <>
              <label className="check">
                <input type="checkbox" checked={s.enabled} onChange={(e) => void update({ enabled: e.target.checked })} /> Show alerts as desktop notifications
              </label>
              <label className="field inline">
                <span>From severity</span>
                <select aria-label="From severity" value={s.minSeverity} onChange={(e) => void update({ minSeverity: e.target.value as AlertSeverity })}>
                  <option value="info">Info</option>
                  <option value="warning">Warning</option>
                  <option value="critical">Critical</option>
                </select>
              </label>
            </>
          )
        }
      </AsyncView>
    </section>
  );
}

function AuditPanel() {
  const { client } = useConsole();
  const audit = useResource(() => client.audit.list({ limit: 25 }), [client]);
  const now = Date.now();
  return (
    <section className="panel" aria-labelledby="audit-title">
      <h2 id="audit-title">Recent audit log</h2>
      <p className="small">
        <Link to="/admin/audit">Open the full audit log</Link> to filter, follow it live and export it.
      </p>
      <AsyncView state={audit.state} what="the audit log" retry={() => void audit.reload()}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty title="No audited action yet">Changes and sign-ins appear here as they happen.</Empty>
          ) : (
            <div className="table-scroll" tabIndex={0} role="region" aria-label="Audit log entries">
              <table className="list-table audit-table">
                <ColumnHeads columns={['Time', 'Actor', 'Action', 'Target', 'Result']} />
                <tbody>
                  {page.items.map((e) => (
                    <tr key={e.id}>
                      <td className="nowrap" title={dateTime(e.time)}>
                        {compactDateTime(e.time, now)}
                      </td>
                      <td>{e.actor.name ?? e.actor.type}</td>
                      <td>{e.action}</td>
                      <td>
                        <span className="ellipsis" title={e.target ?? undefined}>
                          {e.target ?? '—'}
                        </span>
                      </td>
                      <td>{e.result}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </AsyncView>
    </section>
  );
}
