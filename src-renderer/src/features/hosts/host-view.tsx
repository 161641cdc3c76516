// One host: its supervisor (state and since when, why it went down, version, address, pid, agents
// directory, started, last seen, epoch), its open host_down alert, and its agents (GET
// /agents?host_id=) with their observed and desired states, kept live through the fleet and read
// again every few seconds (their last heartbeat is no live event).
import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Agent, Host } from '../../api/types';
import { Link, agentPath } from '../../router';
import { useConsole, useConsoleStore } from '../../store/context';
import { Badge } from '../common/badges';
import { ColumnHeads } from '../common/column-heads';
import { CopyButton } from '../common/copy-button';
import { dateTime, label, plural } from '../common/format';
import { StaleNote } from '../common/link';
import { RelativeTime } from '../common/relative-time';
import { Empty, ErrorState, InlineError, Loading } from '../common/states';
import { useNow } from '../common/use-now';
import { type Resource, useResource } from '../common/use-resource';
import { sortAgents } from '../dashboard/fleet-view';
import { hostCounts, supervisorSentence } from './host-model';
import { AgentCounts } from './hosts-view';
import { HOSTS_REFRESH_MS, useCountsByHost, useHosts } from './use-hosts';

export function HostView({ id }: { id: string }) {
  const { hosts, loadHosts } = useHosts();
  const host = hosts.items.get(id);
  if (!host) {
    if (hosts.status === 'ready' && !hosts.error)
      return (
        <Empty title="No such host" action={<Link to="/hosts">All hosts</Link>}>
          The AMS knows no host <code>{id}</code>. A host is listed once a supervisor has run on it.
        </Empty>
      );
    if (hosts.status === 'error' || (hosts.status === 'ready' && hosts.error)) return <ErrorState what="load the hosts" error={hosts.error} retry={() => void loadHosts()} />;
    return <Loading what="the host" />;
  }
  return <HostPage host={host} />;
}

function HostPage({ host }: { host: Host }) {
  const { client, store } = useConsole();
  const now = useNow();
  const byHost = useCountsByHost();
  const { reason, agents, membership, revision, alert } = useConsoleStore(
    useShallow((s) => ({
      reason: s.hosts.downReasons.get(host.id),
      agents: s.fleet.agents,
      membership: s.fleet.membership,
      revision: s.fleet.revision,
      alert: Object.values(s.alerts.items).find((a) => a.rule === 'host_down' && a.host_id === host.id && a.status !== 'resolved'),
    })),
  );
  // Its agents from the API (the fleet may not hold them all yet); the fleet keeps them live.
  const listed = useResource(() => client.agents.listAll({ host_id: host.id }), [client, host.id]);
  useEffect(() => {
    if (listed.state.data) store.getState().upsertAgents(listed.state.data);
  }, [listed.state.data]);
  // Heartbeats are no live event: the rows' last heartbeat is read again with the host's last seen.
  useEffect(() => {
    const timer = setInterval(() => void listed.reload(), HOSTS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [listed.reload]);
  const rows = useMemo(() => {
    const mine = new Map<string, Agent>();
    for (const a of listed.state.data ?? []) mine.set(a.id, agents.get(a.id) ?? a);
    for (const a of agents.values()) if (a.host_id === host.id) mine.set(a.id, a);
    return sortAgents([...mine.values()], 'name', 'asc');
  }, [listed.state.data, agents, membership, revision, host.id]);
  const counts = hostCounts(host, byHost);

  return (
    <section className="view host" aria-labelledby="host-title">
      <header className="view-header host-header">
        <div>
          <p className="breadcrumb">
            <Link to="/hosts">Hosts</Link> / host <StaleNote />
          </p>
          <h1 id="host-title">
            {host.id} <Badge kind="host" value={host.status} title={`Its supervisor is ${host.status}`} />
          </h1>
          <p className="agent-id">
            machine {host.name}
            {host.pid !== null && ` · pid ${host.pid}`} · epoch {host.epoch} <CopyButton text={host.id} label="Copy ID" />
          </p>
        </div>
      </header>
      {host.status === 'down' && (
        <div className="host-down-note" role="status" data-testid="host-down-note">
          <p>
            <strong>{supervisorSentence(host, now, reason)}</strong> Nothing starts, stops, restarts or judges this host&apos;s agents until its supervisor is back; they keep
            running if they were, and their health is unknown meanwhile. When it returns (with the next epoch) it adopts them.
          </p>
          {alert && (
            <p>
              Alert:{' '}
              <Link to={`/alerts?host=${encodeURIComponent(host.id)}${alert.status === 'acknowledged' ? '&status=acknowledged' : ''}`} data-testid="host-alert-link">
                {alert.title}
              </Link>{' '}
              ({alert.status}, raised <RelativeTime iso={alert.first_seen_at} />)
            </p>
          )}
        </div>
      )}
      <div className="columns">
        <section className="panel" aria-labelledby="supervisor-title">
          <h2 id="supervisor-title">Supervisor</h2>
          <dl className="facts">
            <dt>State</dt>
            <dd data-testid="host-sentence">{supervisorSentence(host, now, host.status === 'down' ? reason : undefined)}</dd>
            <dt>Last seen</dt>
            <dd>
              <RelativeTime iso={host.last_seen} />
              {host.last_seen && <span className="muted"> ({dateTime(host.last_seen)})</span>}
            </dd>
            <dt>Version</dt>
            <dd>{host.version ?? '—'}</dd>
            <dt>Epoch</dt>
            <dd title="Increments with every new supervisor of the host; what an older one still sends is refused">{host.epoch}</dd>
            <dt>Address</dt>
            <dd>{host.address ?? '—'}</dd>
            <dt>Process</dt>
            <dd>{host.pid !== null ? `pid ${host.pid}` : '—'}</dd>
            <dt>Started</dt>
            <dd>{host.started_at ? dateTime(host.started_at) : '—'}</dd>
            <dt>Agents directory</dt>
            <dd>{host.agents_dir ? <code className="path">{host.agents_dir}</code> : '—'}</dd>
          </dl>
        </section>
        <section className="panel" aria-labelledby="host-agents-title">
          <h2 id="host-agents-title">Agents</h2>
          <p>
            <AgentCounts counts={counts} hostId={host.id} />
          </p>
          <HostAgents rows={rows} listed={listed} />
        </section>
      </div>
    </section>
  );
}

function HostAgents({ rows, listed }: { rows: Agent[]; listed: Resource<Agent[]> }) {
  return (
    <>
      {listed.state.status === 'error' && rows.length === 0 ? (
        <ErrorState what="load the host's agents" error={listed.state.error} retry={() => void listed.reload()} />
      ) : listed.state.data === undefined && rows.length === 0 ? (
        <Loading what="the host's agents" />
      ) : rows.length === 0 ? (
        <Empty title="No agent on this host">Agent packages in its agents directory are registered by its supervisor.</Empty>
      ) : (
        <>
          {listed.state.status === 'error' && <InlineError what="refresh the host's agents" error={listed.state.error} retry={() => void listed.reload()} />}
          <table className="list-table" data-testid="host-agents">
            <caption className="sr-only">{plural(rows.length, 'agent')} on this host</caption>
            <ColumnHeads columns={['Agent', 'Process', 'Health', 'Should be', 'Last heartbeat']} />
            <tbody>
              {rows.map((a) => (
                <tr key={a.id} data-agent-id={a.id}>
                  <td>
                    <Link to={agentPath(a.id)}>{a.agent_name}</Link> <span className="muted small">{a.agent_version}</span>
                  </td>
                  <td>
                    <Badge kind="process" value={a.status} />
                  </td>
                  <td>
                    <Badge kind="health" value={a.health} />
                  </td>
                  <td>
                    {label(a.desired_state)}
                    {a.held && <span className="badge badge-health-warning small" title={a.held_reason ?? undefined}>held</span>}
                  </td>
                  <td className="nowrap">
                    <RelativeTime iso={a.last_heartbeat} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
