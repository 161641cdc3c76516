// Every host a supervisor runs on: its supervisor's state (up or down, since when), version, last
// seen (relative, live), epoch, and its agents by state; each opens the host's page. Live from
// host.up / host.down and the agents' status events.
import { useMemo } from 'react';
import type { Host } from '../../api/types';
import { Link, hostPath } from '../../router';
import { useConsoleStore } from '../../store/context';
import { sortHosts } from '../../store/hosts-slice';
import { Badge } from '../common/badges';
import { ColumnHeads } from '../common/column-heads';
import { dateTime, label, plural } from '../common/format';
import { StaleNote } from '../common/link';
import { RelativeTime } from '../common/relative-time';
import { Empty, ErrorState, InlineError, Loading } from '../common/states';
import { useNow } from '../common/use-now';
import type { StateCounts } from '../dashboard/fleet-view';
import { hostCounts, processBreakdown, supervisorState } from './host-model';
import { useCountsByHost, useHosts } from './use-hosts';

export function HostsView() {
  const { hosts, loadHosts } = useHosts();
  const byHost = useCountsByHost();
  const list = useMemo(() => sortHosts(hosts.items.values()), [hosts.items]);
  const up = list.filter((h) => h.status === 'up').length;
  const down = list.filter((h) => h.status === 'down').length;

  return (
    <section className="view hosts" aria-labelledby="hosts-title">
      <header className="view-header">
        <h1 id="hosts-title">Hosts</h1>
        <p className="view-sub" data-testid="hosts-summary">
          {hosts.items.size === 0 ? 'Where supervisors run the agents' : `${plural(list.length, 'host')} · ${up} up · ${down} down`}
        </p>
        <StaleNote />
      </header>
      {hosts.status === 'error' && hosts.items.size === 0 ? (
        <ErrorState what="load the hosts" error={hosts.error} retry={() => void loadHosts()} />
      ) : hosts.status !== 'ready' && hosts.items.size === 0 ? (
        <Loading what="the hosts" />
      ) : (
        <>
          {hosts.error !== null && <InlineError what="refresh the hosts" error={hosts.error} retry={() => void loadHosts()} />}
          {list.length === 0 ? (
            <Empty title="No host yet">
              <p>
                A host appears here once a supervisor runs on it: the AMS itself (<code>--role all</code>, the default), or{' '}
                <code>opmas-ams --role supervisor --host-id ID</code> on another machine.
              </p>
            </Empty>
          ) : (
            <div className="panel flush">
              <table className="list-table hosts-table" data-testid="hosts">
                <ColumnHeads columns={['Host', 'Supervisor', 'Version', 'Last seen', 'Epoch', 'Agents']} />
                <tbody>
                  {list.map((h) => (
                    <HostRow key={h.id} host={h} counts={hostCounts(h, byHost)} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

function HostRow({ host: h, counts }: { host: Host; counts: StateCounts }) {
  const now = useNow();
  const reason = useConsoleStore((s) => s.hosts.downReasons.get(h.id));
  const state = supervisorState(h, now, h.status === 'down' ? reason : undefined);
  return (
    <tr data-host-id={h.id} data-status={h.status}>
      <td>
        <Link to={hostPath(h.id)} className="host-link">
          {h.id}
        </Link>
        <span className="muted small block">
          {[h.name !== h.id ? `machine ${h.name}` : null, h.address, h.pid !== null ? `pid ${h.pid}` : null].filter(Boolean).join(' · ') || '—'}
        </span>
      </td>
      <td className="host-state">
        <Badge kind="host" value={h.status} />{' '}
        {state.since && (
          <span className="small" title={h.status_since ? dateTime(h.status_since) : undefined}>
            {state.since}
          </span>
        )}
        <span className="small block host-why">{state.why}</span>
      </td>
      <td className="nowrap">{h.version ?? <span className="muted">—</span>}</td>
      <td className="nowrap" data-testid="host-last-seen">
        <RelativeTime iso={h.last_seen} />
      </td>
      <td>{h.epoch}</td>
      <td>
        <AgentCounts counts={counts} hostId={h.id} />
      </td>
    </tr>
  );
}

/** "3 agents" and a chip per state, worst first; the number links to the fleet filtered by the host. */
export function AgentCounts({ counts, hostId }: { counts: StateCounts; hostId: string }) {
  if (counts.total === 0) return <span className="muted">no agent</span>;
  return (
    <span className="host-agents">
      <Link to={`/?host=${encodeURIComponent(hostId)}`} title="Show them in the fleet">
        {plural(counts.total, 'agent')}
      </Link>
      {processBreakdown(counts).map(([state, n]) => (
        <span key={state} className={`badge badge-process-${state}`} data-state={state}>
          {n} {label(state).toLowerCase()}
        </span>
      ))}
      {(counts.health.unknown ?? 0) > 0 && counts.total > 0 && (
        <span className="muted small">{counts.health.unknown === counts.total ? 'health unknown' : `${counts.health.unknown} health unknown`}</span>
      )}
    </span>
  );
}
