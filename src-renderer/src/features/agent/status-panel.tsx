// The agent's status at a glance: process, health (with its reasons), recovery, last
// heartbeat, last error, uptime and the latest resource metrics.
import { useShallow } from 'zustand/react/shallow';
import type { Agent, StatusHistoryEntry } from '../../api/types';
import { isMissingEndpoint } from '../../api/errors';
import { useConsole, useConsoleStore, useLiveEvents } from '../../store/context';
import { Badge } from '../common/badges';
import { bytes, dateTime, label, number, shortDuration } from '../common/format';
import { RelativeTime } from '../common/relative-time';
import { InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { useNow } from '../common/use-now';
import { uptimeS } from '../dashboard/fleet-view';
import { timeOfDay } from '../common/format';

const METRICS: Array<{ name: string; title: string; format(v: number): string }> = [
  { name: 'cpu_percent', title: 'CPU', format: (v) => `${number(v)} %` },
  { name: 'memory_mb', title: 'Memory', format: (v) => `${number(v)} MiB` },
  { name: 'disk_read_bytes', title: 'Disk read', format: (v) => `${bytes(v)}/s` },
  { name: 'disk_write_bytes', title: 'Disk write', format: (v) => `${bytes(v)}/s` },
  { name: 'net_rx_bytes', title: 'Network in', format: (v) => `${bytes(v)}/s` },
  { name: 'net_tx_bytes', title: 'Network out', format: (v) => `${bytes(v)}/s` },
  { name: 'response_ms', title: 'Response time', format: (v) => `${number(v)} ms` },
  { name: 'error_rate', title: 'Error rate', format: (v) => `${number(v * 100, 2)} %` },
  { name: 'heartbeat_latency_ms', title: 'Heartbeat latency', format: (v) => `${number(v)} ms` },
];

export function StatusPanel({ agent }: { agent: Agent }) {
  const { client } = useConsole();
  const status = useResource((_s) => client.agents.status(agent.id), [client, agent.id]);
  const health = useResource((_s) => client.agents.health(agent.id), [client, agent.id]);
  const lastExit = useResource((_s) => lastExitOf(client, agent.id), [client, agent.id]);
  const now = useNow();
  const up = uptimeS(agent, now);
  // The newest live sample overrides the fetched metrics.
  const live = useConsoleStore(useShallow((s) => s.samples.book.of(agent.id)?.entries.at(-1)?.values ?? null));
  useLiveEvents((events) => {
    if (events.some((e) => e.agent_id === agent.id && (e.type === 'health.changed' || e.type === 'status.changed'))) {
      void status.reload();
      void health.reload();
    }
    if (events.some((e) => e.agent_id === agent.id && e.type === 'status.changed' && (e.event_type === 'process_exited' || e.to === 'failed'))) void lastExit.reload();
    // Without the exit's own stderr_tail, the lines come from the logs, which the AMS stores a
    // moment after the exit: look again when stderr lines of this agent arrive.
    else if (lastExit.state.data?.from !== 'stderr_tail' && events.some((e) => e.agent_id === agent.id && e.type === 'log.line' && e.source === 'stderr')) void lastExit.reload();
  });
  const metrics = { ...(status.state.data?.metrics ?? {}), ...(live ?? {}) };
  const reasons = health.state.data?.reasons ?? [];
  return (
    <div className="columns">
      <section className="panel" aria-labelledby="status-title">
        <h2 id="status-title">Status</h2>
        <dl className="facts">
          <dt>Process</dt>
          <dd>
            <Badge kind="process" value={agent.status} />
            {agent.pid !== null && (agent.status === 'running' || agent.status === 'degraded' || agent.status === 'stopping') && <span className="muted"> pid {agent.pid}</span>}
          </dd>
          <dt>Health</dt>
          <dd>
            <Badge kind="health" value={agent.health} />
          </dd>
          <dt>Recovery</dt>
          <dd>
            <Badge kind="recovery" value={agent.recovery} />
          </dd>
          <dt>Last heartbeat</dt>
          <dd>
            <RelativeTime iso={agent.last_heartbeat} />
            {agent.last_heartbeat && <span className="muted"> ({dateTime(agent.last_heartbeat)})</span>}
          </dd>
          <dt>Reported by the agent</dt>
          <dd data-testid="reported-status">
            {agent.reported_status ?? '—'}
            {agent.reported_status_known === false && (
              <span className="muted small">
                {' '}
                (not a status word the protocol knows: ready, degraded, stopping; its heartbeats still count as alive)
              </span>
            )}
          </dd>
          <dt>Started</dt>
          <dd>{agent.start_time ? dateTime(agent.start_time) : '—'}</dd>
          <dt>Uptime</dt>
          <dd data-testid="uptime">{up !== null ? shortDuration(up) : agent.status === 'starting' ? 'starting…' : 'not running'}</dd>
          <dt>Last error</dt>
          <dd className={agent.last_error ? 'error-text' : undefined}>{agent.last_error ?? 'none'}</dd>
          {status.state.data && (status.state.data.exit_code !== null || status.state.data.exit_signal) && (
            <>
              <dt>Last exit</dt>
              <dd>{status.state.data.exit_signal ? `killed by ${status.state.data.exit_signal}` : `exit code ${status.state.data.exit_code}`}</dd>
            </>
          )}
          {status.state.data?.config_version !== null && status.state.data?.config_version !== undefined && (
            <>
              <dt>Running config</dt>
              <dd>{status.state.data.config_version === 0 ? 'the fleet settings and defaults (no version of its own)' : `version ${status.state.data.config_version}`}</dd>
            </>
          )}
          {status.state.data?.adopted && (
            <>
              <dt>Adopted</dt>
              <dd>yes: the AMS restarted and took over this running process</dd>
            </>
          )}
        </dl>
      </section>
      <section className="panel" aria-labelledby="metrics-now-title">
        <h2 id="metrics-now-title">Current metrics</h2>
        {status.state.status === 'error' && !isMissingEndpoint(status.state.error) && (
          <InlineError what="load the current status" error={status.state.error} retry={() => void status.reload()} />
        )}
        {Object.keys(metrics).length === 0 ? (
          <p className="muted" data-testid="metrics-empty">
            {status.state.status === 'error' && isMissingEndpoint(status.state.error)
              ? 'This AMS is older and does not report the latest metrics; they show as live samples arrive.'
              : agent.status === 'running' || agent.status === 'degraded'
                ? 'No sample yet: the AMS samples running agents every few seconds.'
                : 'The agent is not running, so there is nothing to sample. Start it to see its resource use.'}
          </p>
        ) : (
          <dl className="facts">
            {METRICS.filter((m) => typeof metrics[m.name] === 'number').map((m) => (
              <div key={m.name} className="fact">
                <dt>{m.title}</dt>
                <dd>{m.format(metrics[m.name] as number)}</dd>
              </div>
            ))}
          </dl>
        )}
        <h2>Health reasons</h2>
        {health.state.status === 'error' ? (
          isMissingEndpoint(health.state.error) ? (
            <p className="muted">This AMS is older and does not report health reasons.</p>
          ) : (
            <InlineError what="load the health reasons" error={health.state.error} retry={() => void health.reload()} />
          )
        ) : reasons.length === 0 ? (
          <p className="muted">{health.state.status === 'ready' ? `Nothing to report: ${label(agent.health)}.` : 'Loading…'}</p>
        ) : (
          <ul className="reasons">
            {reasons.map((r, i) => (
              <li key={i}>
                <Badge kind="health" value={r.level === 'critical' ? 'critical' : r.level === 'warning' ? 'warning' : 'unknown'} title={r.level} /> {r.message}
              </li>
            ))}
          </ul>
        )}
      </section>
      {lastExit.state.data && <LastExit exit={lastExit.state.data} failed={agent.status === 'failed'} />}
      <section className="panel" aria-labelledby="about-title">
        <h2 id="about-title">About</h2>
        <dl className="facts">
          <dt>Description</dt>
          <dd>{agent.description ?? '—'}</dd>
          <dt>Subscribed topics</dt>
          <dd>{agent.subscribed_topics.length ? agent.subscribed_topics.join(', ') : '—'}</dd>
          <dt>Findings topic</dt>
          <dd>{agent.findings_topic ?? '—'}</dd>
          <dt>Labels</dt>
          <dd>{Object.keys(agent.labels).length ? Object.entries(agent.labels).map(([k, v]) => `${k}: ${v}`).join(', ') : '—'}</dd>
          <dt>Registered</dt>
          <dd>{dateTime(agent.created_at)}</dd>
        </dl>
      </section>
    </div>
  );
}

interface ExitReport {
  row: StatusHistoryEntry;
  /** The last stderr lines before it exited: the AMS's stderr_tail, else the stderr lines logged before the exit. */
  lines: string[];
  from: 'stderr_tail' | 'logs' | null;
}

async function lastExitOf(client: ReturnType<typeof useConsole>['client'], id: string): Promise<ExitReport | null> {
  const page = await client.agents.statusHistory(id, { event_type: 'process_exited', limit: 1 });
  const row = page.items[0];
  if (!row) return null;
  const tail = (row.details as Record<string, unknown>).stderr_tail;
  if (Array.isArray(tail)) return { row, lines: tail.map(String), from: 'stderr_tail' };
  if (typeof tail === 'string' && tail.trim()) return { row, lines: tail.replace(/\n$/, '').split('\n'), from: 'stderr_tail' };
  // An AMS that does not keep the tail with the exit: the stderr lines it logged before it.
  const until = new Date(Date.parse(row.created_at) + 1000).toISOString();
  const logs = await client.logs.list(id, { until, limit: 200 }).catch(() => null);
  const lines = (logs?.items ?? []).filter((l) => l.source === 'stderr').slice(0, 12).reverse().map((l) => l.message);
  return { row, lines, from: lines.length ? 'logs' : null };
}

function LastExit({ exit, failed }: { exit: ExitReport; failed: boolean }) {
  const d = exit.row.details as Record<string, unknown>;
  const how = d.signal ? `killed by ${String(d.signal)}` : d.exit_code !== undefined && d.exit_code !== null ? `exit code ${String(d.exit_code)}` : 'no exit status';
  return (
    <section className={`panel last-exit${failed ? ' failed' : ''}`} aria-labelledby="last-exit-title" data-testid="last-exit">
      <h2 id="last-exit-title">{failed ? 'Why it failed' : 'Last unexpected exit'}</h2>
      <p>
        Exited at {timeOfDay(exit.row.created_at)} ({dateTime(exit.row.created_at)}), {how}.
      </p>
      {exit.lines.length > 0 ? (
        <>
          <h3>Last lines on stderr</h3>
          <pre className="stderr-tail" data-testid="stderr-tail">
            {exit.lines.join('\n')}
          </pre>
          {exit.from === 'logs' && <p className="muted small">From the stderr lines the AMS logged before the exit.</p>}
        </>
      ) : (
        <p className="muted small">It wrote nothing on stderr before it exited.</p>
      )}
    </section>
  );
}
