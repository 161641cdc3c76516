// Agent packages in the agents directory with their status and every reason an invalid one
// was refused; rescan with progress; one-time discovery tokens for agents that register
// themselves.
import { useEffect, useMemo, useState } from 'react';
import type { FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { NewDiscoveryToken, PackageStatus } from '../../api/types';
import { useConsole, useConsoleStore } from '../../store/context';
import { Link, agentPath } from '../../router';
import { Badge } from '../common/badges';
import { CopyButton } from '../common/copy-button';
import { dateTime, label, plural } from '../common/format';
import { AsyncView, Empty, ErrorState, InlineError, Loading } from '../common/states';
import { AgentsDirectoryHint } from './agents-directory-hint';
import { useResource } from '../common/use-resource';
import { ColumnHeads } from '../common/column-heads';
import { NEEDS_AMS, StaleNote, useAmsDown } from '../common/link';

// `ignored`: dot-prefixed (hidden) folders, listed with the reason they are not read.
const STATUSES: PackageStatus[] = ['registered', 'invalid', 'conflict', 'incompatible', 'removed', 'ignored'];

export function PackagesView() {
  const { packages, scan, load, rescan, canScan, canTokens } = useConsoleStore(
    useShallow((s) => ({ packages: s.packages, scan: s.scan, load: s.loadPackages, rescan: s.rescan, canScan: s.can('packages:write'), canTokens: s.can('discovery:write') })),
  );
  const [filter, setFilter] = useState<PackageStatus | ''>('');
  useEffect(() => {
    if (packages.status === 'idle') void load();
  }, [packages.status, load]);
  const list = packages.data ?? [];
  const counts = useMemo(() => Object.fromEntries(STATUSES.map((s) => [s, list.filter((p) => p.status === s).length])), [list]);
  const shown = filter ? list.filter((p) => p.status === filter) : list;
  const running = scan.current?.status === 'running';
  const down = useAmsDown();

  return (
    <section className="view packages" aria-labelledby="packages-title">
      <header className="view-header">
        <h1 id="packages-title">Packages</h1>
        <p className="view-sub">Updated live as the scanner finds changes.</p>
        <StaleNote />
        {canScan && (
          <button type="button" className="primary" onClick={() => void rescan()} disabled={running || down} title={down ? NEEDS_AMS : undefined} data-testid="rescan">
            {running ? 'Scanning…' : 'Rescan the agents directory'}
          </button>
        )}
      </header>
      {scan.current && (
        <div className="scan" role="status" aria-live="polite" data-testid="scan-status">
          {running ? (
            <>
              <progress max={scan.current.total ?? undefined} value={scan.current.total ? scan.current.done : undefined} aria-label="Scan progress" />
              <span>
                Scanning: {scan.current.done}
                {scan.current.total !== null && ` of ${scan.current.total}`} packages
              </span>
            </>
          ) : scan.current.status === 'failed' ? (
            <span className="error-text">Scan failed: {scan.current.error}</span>
          ) : (
            <span>
              Scan finished {dateTime(scan.current.finished_at)}: {plural(scan.current.done, 'package')} (
              {Object.entries(scan.current.counts)
                .filter(([, n]) => n > 0)
                .map(([s, n]) => `${n} ${s}`)
                .join(', ') || 'none'}
              ).
            </span>
          )}
        </div>
      )}
      {scan.error !== null && <InlineError what="rescan" error={scan.error} retry={() => void rescan()} />}
      <div className="segmented" role="group" aria-label="Package status">
        <button type="button" aria-pressed={filter === ''} onClick={() => setFilter('')}>
          All <span className="count-n">{list.length}</span>
        </button>
        {STATUSES.filter((s) => counts[s] > 0 || s === 'invalid').map((s) => (
          <button key={s} type="button" aria-pressed={filter === s} onClick={() => setFilter(s)}>
            {label(s)} <span className="count-n">{counts[s]}</span>
          </button>
        ))}
      </div>
      {packages.status === 'error' && list.length === 0 ? (
        <ErrorState what="load the packages" error={packages.error} retry={() => void load()} />
      ) : packages.data === undefined ? (
        <Loading what="the packages" />
      ) : shown.length === 0 ? (
        <Empty title={filter ? `No ${filter} package` : 'No package found'}>
          {filter ? 'Pick another status above.' : <AgentsDirectoryHint />}
        </Empty>
      ) : (
        <div className="panel flush">
        <table className="list-table packages-table" data-testid="packages">
          <ColumnHeads columns={['Package', 'Agent', 'Status', 'Reasons', 'Seen']} />
          <tbody>
            {shown.map((p) => (
              <tr key={p.path} data-status={p.status}>
                <td>
                  <code className="path">{p.path}</code>
                </td>
                <td>
                  {p.agent_id ? (
                    <Link to={agentPath(p.agent_id)}>{p.agent_name}</Link>
                  ) : p.status === 'ignored' ? (
                    <span className="muted">not read</span>
                  ) : (
                    (p.agent_name ?? <span className="muted">unnamed</span>)
                  )}
                  {p.agent_version && <span className="muted"> {p.agent_version}</span>}
                  {p.agent_type && <span className="muted"> · {p.agent_type}</span>}
                </td>
                <td>
                  <Badge kind="package" value={p.status} />
                </td>
                <td>
                  {p.reasons.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    <ul className="reasons">
                      {p.reasons.map((r) => (
                        <li key={r}>{r}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td className="small nowrap">{dateTime(p.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {canTokens && <DiscoveryTokens />}
    </section>
  );
}

function DiscoveryTokens() {
  const { client } = useConsole();
  const tokens = useResource(() => client.discoveryTokens.list(), [client]);
  const [type, setType] = useState('');
  const [hours, setHours] = useState('1');
  const [created, setCreated] = useState<NewDiscoveryToken | null>(null);
  const [error, setError] = useState<unknown>(null);
  const down = useAmsDown();
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setCreated(await client.discoveryTokens.create({ agent_type: type.trim() || null, expires_in: Math.round(Number(hours) * 3600) }));
      void tokens.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await client.discoveryTokens.revoke(id);
      void tokens.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section className="panel" aria-labelledby="tokens-title">
      <h2 id="tokens-title">Discovery tokens</h2>
      <p className="muted small">
        An agent started outside this AMS registers with a one-time token: <code>POST /api/v1/agents</code> with its name, version, type and the token.
      </p>
      <form className="row" onSubmit={create}>
        <label className="field">
          <span>Agent type (optional)</span>
          <input value={type} onChange={(e) => setType(e.target.value)} placeholder="any type" />
        </label>
        <label className="field">
          <span>Valid for (hours)</span>
          <input type="number" min={0.02} max={720} step="any" value={hours} onChange={(e) => setHours(e.target.value)} />
        </label>
        <button type="submit" disabled={down} title={down ? NEEDS_AMS : undefined}>
          Create token
        </button>
      </form>
      {error !== null && <InlineError what="change the tokens" error={error} />}
      {created && (
        <div className="secret-box" role="status">
          <p>
            <strong>New token — shown only now</strong>, valid until {dateTime(created.expires_at)}:
          </p>
          <code className="secret" data-testid="new-token">
            {created.token}
          </code>
          <div className="row">
            <CopyButton text={created.token} />
            <button type="button" onClick={() => setCreated(null)}>
              Hide
            </button>
          </div>
        </div>
      )}
      <AsyncView state={tokens.state} what="the discovery tokens" retry={() => void tokens.reload()}>
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">No token yet.</p>
          ) : (
            <table className="list-table">
              <ColumnHeads columns={['Created', 'By', 'Type', 'State', 'Expires']} actions />
              <tbody>
                {page.items.map((t) => (
                  <tr key={t.id}>
                    <td className="nowrap">{dateTime(t.created_at)}</td>
                    <td>{t.created_by}</td>
                    <td>{t.agent_type ?? 'any'}</td>
                    <td>
                      {label(t.state)}
                      {t.used_by_agent_id && (
                        <>
                          {' '}
                          by <Link to={agentPath(t.used_by_agent_id)}>{t.used_by_agent_id.slice(0, 18)}…</Link>
                        </>
                      )}
                    </td>
                    <td className="nowrap">{dateTime(t.expires_at)}</td>
                    <td>
                      {t.state === 'active' && (
                        <button type="button" className="link-button" onClick={() => void revoke(t.id)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </AsyncView>
    </section>
  );
}
