// API tokens for automation: create with a role (never one with permissions the signed-in user
// lacks: such roles are offered disabled, with the reason), an agent for the agent role and an
// expiry; the secret is shown once with a copy button; list and revoke.
import { useMemo, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { FormEvent } from 'react';
import type { ApiToken, NewApiToken, Role } from '../../api/types';
import { ApiError } from '../../api/errors';
import { useConsole, useConsoleStore } from '../../store/context';
import { ConfirmDialog } from '../common/dialog';
import { CopyButton } from '../common/copy-button';
import { dateTime } from '../common/format';
import { AsyncView, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { ColumnHeads } from '../common/column-heads';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { Done } from './common';
import { BUILTIN_ROLE_NAMES } from './permissions';

const EXPIRIES: Array<{ s: number | null; label: string }> = [
  { s: 86_400, label: '1 day' },
  { s: 30 * 86_400, label: '30 days' },
  { s: 90 * 86_400, label: '90 days' },
  { s: 365 * 86_400, label: '1 year' },
  { s: null, label: 'Never' },
];

export function tokenState(t: Pick<ApiToken, 'revoked_at' | 'expires_at'>, nowMs: number): 'revoked' | 'expired' | 'active' {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && Date.parse(t.expires_at) <= nowMs) return 'expired';
  return 'active';
}

export function TokensPanel() {
  const { client } = useConsole();
  const { me, canRoles } = useConsoleStore(useShallow((s) => ({ me: s.me, canRoles: s.can('users:admin') })));
  const down = useAmsDown();
  const tokens = useResource(() => client.tokens.listAll(), [client]);
  // Reading roles needs users:admin; without it the built-in names are offered.
  const roles = useResource<Role[] | null>(() => (canRoles ? client.roles.list().then((r) => r.items) : Promise.resolve(null)), [client, canRoles]);
  const [created, setCreated] = useState<NewApiToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const now = Date.now();
  return (
    <div className="columns">
      <section className="panel" aria-labelledby="new-token-title">
        <h2 id="new-token-title">New API token</h2>
        <p className="muted small">
          For scripts and monitoring (e.g. Prometheus with the read-only role). The token acts with its role's permissions, never more than yours.
        </p>
        <NewTokenForm
          roles={roles.state.data ?? null}
          myPermissions={me?.permissions ?? []}
          created={(t) => {
            setCreated(t);
            setDone(null);
            void tokens.reload();
          }}
        />
        {created && (
          <div className="secret-box" role="status" data-testid="new-api-token">
            <p>
              <strong>Token {created.name} — shown only now.</strong> Store it where the automation reads it; the AMS keeps only its hash.
            </p>
            <code className="secret">{created.token}</code>
            <div className="row">
              <CopyButton text={created.token} />
              <button type="button" onClick={() => setCreated(null)}>
                I have stored it — hide
              </button>
            </div>
          </div>
        )}
      </section>
      <section className="panel" aria-labelledby="tokens-title">
        <h2 id="tokens-title">API tokens</h2>
        <Done text={done} />
        {error !== null && <InlineError what="revoke the token" error={error} />}
        <AsyncView state={tokens.state} what="the API tokens" retry={() => void tokens.reload()}>
          {(list) =>
            list.length === 0 ? (
              <p className="muted">No API token yet.</p>
            ) : (
              <div className="table-scroll">
                <table className="list-table" data-testid="api-tokens">
                  <ColumnHeads columns={['Name', 'Role', 'Created', 'Expires', 'Last used', 'State']} actions />
                  <tbody>
                    {list.map((t) => {
                      const state = tokenState(t, now);
                      return (
                        <tr key={t.id} data-token={t.name}>
                          <th scope="row">{t.name}</th>
                          <td>
                            {t.role}
                            {t.agent_id && <span className="muted small"> ({t.agent_id.slice(0, 16)}…)</span>}
                          </td>
                          <td className="small nowrap">
                            {dateTime(t.created_at)} by {t.created_by}
                          </td>
                          <td className="small nowrap">{t.expires_at ? dateTime(t.expires_at) : 'never'}</td>
                          <td className="small nowrap">{t.last_used_at ? dateTime(t.last_used_at) : 'never'}</td>
                          <td>{state === 'active' ? 'Active' : state === 'revoked' ? `Revoked ${dateTime(t.revoked_at)}` : 'Expired'}</td>
                          <td>
                            {state === 'active' && (
                              <button type="button" className="danger" onClick={() => setRevoking(t)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                                Revoke…
                              </button>
                            )}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )
          }
        </AsyncView>
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke token ${revoking?.name ?? ''}?`}
        confirmLabel="Revoke"
        danger
        disabled={down}
        disabledReason={NEEDS_AMS}
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          const t = revoking!;
          setRevoking(null);
          setError(null);
          client.tokens
            .revoke(t.id)
            .then(() => (setDone(`Revoked token ${t.name}: it stops working at once.`), void tokens.reload()))
            .catch(setError);
        }}
      >
        <p>Whatever uses it stops working at once; this cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

function NewTokenForm({ roles, myPermissions, created }: { roles: Role[] | null; myPermissions: string[]; created(t: NewApiToken): void }) {
  const { client } = useConsole();
  const agents = useConsoleStore((s) => s.fleet.agents);
  const down = useAmsDown();
  const [name, setName] = useState('');
  const [role, setRole] = useState('read-only');
  const [agentId, setAgentId] = useState('');
  const [expires, setExpires] = useState<number | null>(90 * 86_400);
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const mine = new Set(myPermissions);
  const options = useMemo(
    () =>
      (roles ?? BUILTIN_ROLE_NAMES.map((n) => ({ name: n, permissions: null as string[] | null, description: null }))).map((r) => {
        const missing = r.permissions ? r.permissions.filter((p) => !mine.has(p)) : [];
        return { name: r.name, why: missing.length ? `needs ${missing.join(', ')}, which you lack` : null };
      }),
    [roles, myPermissions],
  );
  const agentList = useMemo(() => [...agents.values()].sort((a, b) => a.agent_name.localeCompare(b.agent_name)), [agents]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setIssues({});
    setError(null);
    try {
      const t = await client.tokens.create({ name, role, expires_in: expires, ...(role === 'agent' ? { agent_id: agentId || null } : {}) });
      setName('');
      created(t);
    } catch (err) {
      if (err instanceof ApiError && err.fieldIssues.length) setIssues(Object.fromEntries(err.fieldIssues.map((i) => [i.path, i.reason])));
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit} noValidate>
      <label className={`field${issues.name ? ' invalid' : ''}`}>
        <span>Name</span>
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. prometheus" autoComplete="off" />
        {issues.name && <small className="error-text">Name {issues.name}</small>}
      </label>
      <label className={`field${issues.role ? ' invalid' : ''}`}>
        <span>Role</span>
        <select value={role} onChange={(e) => setRole(e.target.value)}>
          {options.map((o) => (
            <option key={o.name} value={o.name} disabled={!!o.why}>
              {o.name}
              {o.why ? ` (${o.why})` : ''}
            </option>
          ))}
        </select>
        {issues.role && <small className="error-text">Role {issues.role}</small>}
        {!roles && <small className="muted">Custom roles are listed to holders of users:admin; the built-in ones are offered here.</small>}
      </label>
      {role === 'agent' && (
        <label className={`field${issues.agent_id ? ' invalid' : ''}`}>
          <span>Agent</span>
          <select value={agentId} onChange={(e) => setAgentId(e.target.value)}>
            <option value="">Choose the agent…</option>
            {agentList.map((a) => (
              <option key={a.id} value={a.id}>
                {a.agent_name}
              </option>
            ))}
          </select>
          {issues.agent_id && <small className="error-text">Agent {issues.agent_id}</small>}
        </label>
      )}
      <label className="field">
        <span>Expires after</span>
        <select value={expires ?? ''} onChange={(e) => setExpires(e.target.value === '' ? null : Number(e.target.value))}>
          {EXPIRIES.map((x) => (
            <option key={x.label} value={x.s ?? ''}>
              {x.label}
            </option>
          ))}
        </select>
      </label>
      {error !== null && <InlineError what="create the token" error={error} />}
      <button type="submit" className="primary" disabled={busy || down || !name.trim()} title={down ? NEEDS_AMS : undefined}>
        {busy ? 'Creating…' : 'Create token'}
      </button>
    </form>
  );
}
