// The AMS's health report (GET /health): overall status, version and each dependency.
import { useEffect } from 'react';
import { useConsoleStore } from '../../store/context';
import { Badge } from '../common/badges';
import { shortDuration } from '../common/format';
import { AsyncView } from '../common/states';
import { ColumnHeads } from '../common/column-heads';

export function AmsHealthPanel({ compact }: { compact?: boolean }) {
  const health = useConsoleStore((s) => s.health);
  const load = useConsoleStore((s) => s.loadHealth);
  useEffect(() => {
    if (health.status === 'idle') void load();
  }, [health.status, load]);
  return (
    <section className="panel" aria-labelledby="ams-health-title">
      <h2 id="ams-health-title">AMS health</h2>
      <AsyncView state={health} what="the AMS health" retry={() => void load()}>
        {(h) => (
          <>
            <p>
              <Badge kind="health" value={h.status === 'ok' ? 'healthy' : h.status === 'degraded' ? 'warning' : 'critical'} title={h.status} />{' '}
              <span data-testid="ams-status">{h.status}</span> · AMS {h.version} · API v{h.api_version}
              {!compact && <> · up {shortDuration(h.uptime_s)}</>}
            </p>
            <table className="kv">
              <caption className="sr-only">Dependencies</caption>
              <ColumnHeads columns={['Component', 'Status', 'Latency', 'Detail']} />
              <tbody>
                {Object.entries(h.components).map(([name, c]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    <td>{c.status}</td>
                    <td>{c.latency_ms === null ? '—' : `${c.latency_ms} ms`}</td>
                    <td>{c.error ?? [c.kind, c.version, c.url].filter((v) => typeof v === 'string').join(' · ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </AsyncView>
    </section>
  );
}
