// Alerts: open, acknowledged and resolved, newest first; acknowledge; each links to its agent
// at the moment it was raised.
import { useEffect, useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Alert, AlertStatus } from '../../api/types';
import { describeError } from '../../api/errors';
import { useConsoleStore } from '../../store/context';
import { Link, agentPath } from '../../router';
import { Badge } from '../common/badges';
import { dateTime, label } from '../common/format';
import { RelativeTime } from '../common/relative-time';
import { Empty, ErrorState, Loading } from '../common/states';

const STATUSES: AlertStatus[] = ['open', 'acknowledged', 'resolved'];
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 } as const;

export function AlertsView() {
  const { alerts, load, ack, canAck, agents } = useConsoleStore(
    useShallow((s) => ({ alerts: s.alerts, load: s.loadAlerts, ack: s.ackAlert, canAck: s.can('alerts:write'), agents: s.fleet.agents, membership: s.fleet.membership })),
  );
  const [status, setStatus] = useState<AlertStatus>('open');
  const [busy, setBusy] = useState<number | null>(null);
  const [error, setError] = useState<{ id: number; error: unknown } | null>(null);
  useEffect(() => {
    if (alerts.status === 'idle') void load();
  }, [alerts.status, load]);

  const all = useMemo(() => Object.values(alerts.items), [alerts.items]);
  const counts = useMemo(() => Object.fromEntries(STATUSES.map((s) => [s, all.filter((a) => a.status === s).length])), [all]);
  const shown = useMemo(
    () =>
      all
        .filter((a) => a.status === status)
        .sort((x, y) => (status === 'open' ? SEVERITY_RANK[x.severity] - SEVERITY_RANK[y.severity] : 0) || Date.parse(y.last_seen_at) - Date.parse(x.last_seen_at)),
    [all, status],
  );
  const doAck = async (a: Alert) => {
    setBusy(a.id);
    setError(null);
    try {
      await ack(a.id);
    } catch (e) {
      setError({ id: a.id, error: e });
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="view alerts" aria-labelledby="alerts-title">
      <header className="view-header">
        <h1 id="alerts-title">Alerts</h1>
      </header>
      <div className="segmented" role="group" aria-label="Alert status">
        {STATUSES.map((s) => (
          <button key={s} type="button" aria-pressed={status === s} onClick={() => setStatus(s)} data-testid={`alerts-${s}`}>
            {label(s)} <span className="count-n">{counts[s] ?? 0}</span>
          </button>
        ))}
      </div>
      {alerts.status === 'error' && all.length === 0 ? (
        <ErrorState what="load the alerts" error={alerts.error} retry={() => void load()} />
      ) : alerts.status === 'loading' && all.length === 0 ? (
        <Loading what="the alerts" />
      ) : shown.length === 0 ? (
        <Empty title={status === 'open' ? 'No open alert' : `No ${status} alert`}>
          {status === 'open'
            ? 'The AMS raises an alert when an agent fails, its recovery gives up, or a threshold is crossed. New ones appear here live.'
            : status === 'acknowledged'
              ? 'Alerts you acknowledge stay here until they resolve.'
              : 'Alerts move here once their cause is gone.'}
        </Empty>
      ) : (
        <ul className="alert-list" data-testid="alert-list">
          {shown.map((a) => {
            const agent = a.agent_id ? agents.get(a.agent_id) : undefined;
            return (
              <li key={a.id} className={`alert-item severity-${a.severity}`} data-alert-id={a.id}>
                <div className="alert-head">
                  <Badge kind="severity" value={a.severity} />
                  <strong className="alert-title">{a.title}</strong>
                  {a.count > 1 && <span className="muted">×{a.count}</span>}
                  <span className="muted small">{a.rule}</span>
                </div>
                <p className="alert-message">{a.message}</p>
                <p className="alert-meta small">
                  {a.agent_id && (
                    <>
                      <Link to={agentPath(a.agent_id, 'activity', Date.parse(a.first_seen_at))}>
                        {agent?.agent_name ?? a.agent_id} at {dateTime(a.first_seen_at)}
                      </Link>
                      {' · '}
                    </>
                  )}
                  first <RelativeTime iso={a.first_seen_at} />, last <RelativeTime iso={a.last_seen_at} />
                  {a.acknowledged_at && ` · acknowledged by ${a.acknowledged_by ?? 'someone'} ${dateTime(a.acknowledged_at)}`}
                  {a.resolved_at && ` · resolved ${dateTime(a.resolved_at)}`}
                </p>
                {a.status === 'open' && canAck && (
                  <button type="button" onClick={() => void doAck(a)} disabled={busy === a.id}>
                    {busy === a.id ? 'Acknowledging…' : 'Acknowledge'}
                  </button>
                )}
                {error?.id === a.id && (
                  <p className="inline-error" role="alert">
                    Could not acknowledge: {describeError(error.error)}
                  </p>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
