// Users: create, change role, disable or enable, reset the password, delete. The last enabled
// admin is protected as the AMS protects it (its controls are disabled, saying why).
import { useMemo, useState } from 'react';
import type { FormEvent } from 'react';
import type { Role, User } from '../../api/types';
import { ApiError } from '../../api/errors';
import { useConsole, useConsoleStore } from '../../store/context';
import { ConfirmDialog, FormDialog } from '../common/dialog';
import { dateTime } from '../common/format';
import { AsyncView, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { ColumnHeads } from '../common/column-heads';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { Done } from './common';

interface UsersData {
  users: User[];
  roles: Role[];
}

const byField = (err: unknown): Record<string, string> => (err instanceof ApiError ? Object.fromEntries(err.fieldIssues.map((i) => [i.path, i.reason])) : {});

export function UsersPanel() {
  const { client } = useConsole();
  const me = useConsoleStore((s) => s.me);
  const agents = useConsoleStore((s) => s.fleet.agents);
  const down = useAmsDown();
  const data = useResource<UsersData>(async () => {
    const [users, roles] = await Promise.all([client.users.listAll(), client.roles.list()]);
    return { users, roles: roles.items };
  }, [client]);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const [busy, setBusy] = useState(false);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await fn();
      setDone(what);
      await data.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="users-title">
      <div className="panel-head">
        <h2 id="users-title">Users</h2>
        <button type="button" className="primary" onClick={() => setCreating(true)} disabled={down} title={down ? NEEDS_AMS : undefined}>
          New user…
        </button>
      </div>
      <p className="muted small">Changing a user's role, password or state, or deleting it, ends all its sessions at once.</p>
      <Done text={done} />
      {error !== null && <InlineError what="change the user" error={error} />}
      <AsyncView state={data.state} what="the users" retry={() => void data.reload()}>
        {(d) => <UsersTable data={d} me={me?.username ?? null} busy={busy} down={down} agents={agents} act={act} reset={setResetting} remove={setDeleting} />}
      </AsyncView>
      <FormDialog open={creating} title="New user" onClose={() => setCreating(false)}>
        <NewUserForm
          roles={data.state.data?.roles ?? []}
          close={() => setCreating(false)}
          created={(u) => {
            setCreating(false);
            setDone(`Created user ${u.username} (${u.role}).`);
            void data.reload();
          }}
        />
      </FormDialog>
      <FormDialog open={resetting !== null} title={`Reset the password of ${resetting?.username ?? ''}`} onClose={() => setResetting(null)}>
        {resetting && (
          <PasswordForm
            user={resetting}
            close={() => setResetting(null)}
            saved={() => {
              setDone(`Password of ${resetting.username} changed; its sessions were ended.`);
              setResetting(null);
            }}
          />
        )}
      </FormDialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete user ${deleting?.username ?? ''}?`}
        confirmLabel="Delete user"
        danger
        busy={busy}
        disabled={down}
        disabledReason={NEEDS_AMS}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const u = deleting!;
          setDeleting(null);
          void act(`Deleted user ${u.username}.`, () => client.users.remove(u.id));
        }}
      >
        <p>The user can no longer sign in and its sessions end now. Its audit log entries stay.</p>
      </ConfirmDialog>
    </section>
  );
}

function UsersTable({
  data,
  me,
  busy,
  down,
  agents,
  act,
  reset,
  remove,
}: {
  data: UsersData;
  me: string | null;
  busy: boolean;
  down: boolean;
  agents: ReadonlyMap<string, { agent_name: string }>;
  act(what: string, fn: () => Promise<unknown>): Promise<void>;
  reset(u: User): void;
  remove(u: User): void;
}) {
  const { client } = useConsole();
  const enabledAdmins = data.users.filter((u) => u.role === 'admin' && !u.disabled).length;
  const [roleDraft, setRoleDraft] = useState<Record<string, string>>({});
  return (
    <div className="table-scroll">
      <table className="list-table users-table" data-testid="users">
        <ColumnHeads columns={['User', 'Role', 'State', 'Created']} actions />
        <tbody>
          {data.users.map((u) => {
            const lastAdmin = u.role === 'admin' && !u.disabled && enabledAdmins <= 1;
            const protectedWhy = lastAdmin ? 'The last enabled admin cannot be demoted, disabled or deleted (the AMS refuses it too)' : undefined;
            const host = u.username === 'local-admin';
            const draft = roleDraft[u.id] ?? u.role;
            const why = down ? NEEDS_AMS : protectedWhy;
            return (
              <tr key={u.id} data-username={u.username}>
                <th scope="row">
                  {u.username}
                  {u.username === me && <span className="badge small">you</span>}
                  {host && <span className="muted small"> desktop host session</span>}
                  {u.agent_id && <span className="muted small"> bound to {agents.get(u.agent_id)?.agent_name ?? u.agent_id}</span>}
                  {lastAdmin && (
                    <span className="muted small block" data-testid="last-admin">
                      The last enabled admin: it cannot be demoted, disabled or deleted.
                    </span>
                  )}
                </th>
                <td>
                  <select
                    aria-label={`Role of ${u.username}`}
                    value={draft}
                    disabled={busy || !!why || u.role === 'agent'}
                    title={u.role === 'agent' ? 'An agent-bound user keeps the agent role; create a new user for another role' : why}
                    onChange={(e) => setRoleDraft({ ...roleDraft, [u.id]: e.target.value })}
                  >
                    {data.roles
                      .filter((r) => r.name !== 'agent' || u.role === 'agent')
                      .map((r) => (
                        <option key={r.name} value={r.name}>
                          {r.name}
                        </option>
                      ))}
                  </select>
                  {draft !== u.role && (
                    <button
                      type="button"
                      className="small-button"
                      disabled={busy || down}
                      onClick={() => void act(`${u.username} is now ${draft}.`, () => client.users.update(u.id, { role: draft })).then(() => setRoleDraft((d) => Object.fromEntries(Object.entries(d).filter(([k]) => k !== u.id))))}
                    >
                      Save role
                    </button>
                  )}
                </td>
                <td>{u.disabled ? <span className="badge badge-process-stopped">Disabled</span> : 'Enabled'}</td>
                <td className="nowrap small">{dateTime(u.created_at)}</td>
                <td>
                  <div className="actions">
                  <button
                    type="button"
                    disabled={busy || (!u.disabled && !!why) || down}
                    title={!u.disabled ? why : down ? NEEDS_AMS : undefined}
                    onClick={() => void act(`${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`, () => client.users.update(u.id, { disabled: !u.disabled }))}
                  >
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button type="button" disabled={busy || down || host} title={host ? 'The desktop host user signs in with the app, not a password' : down ? NEEDS_AMS : undefined} onClick={() => reset(u)}>
                    Reset password…
                  </button>
                  <button type="button" className="danger" disabled={busy || !!why} title={why} onClick={() => remove(u)}>
                    Delete…
                  </button>
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function NewUserForm({ roles, close, created }: { roles: Role[]; close(): void; created(u: User): void }) {
  const { client } = useConsole();
  const agents = useConsoleStore((s) => s.fleet.agents);
  const down = useAmsDown();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState('read-only');
  const [agentId, setAgentId] = useState('');
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const agentList = useMemo(() => [...agents.values()].sort((a, b) => a.agent_name.localeCompare(b.agent_name)), [agents]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setIssues({});
    setError(null);
    try {
      created(await client.users.create({ username, password, role, ...(role === 'agent' ? { agent_id: agentId || null } : {}) }));
    } catch (err) {
      const f = byField(err);
      if (Object.keys(f).length) setIssues(f);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  const field = (name: string, title: string, input: React.ReactNode) => (
    <label className={`field${issues[name] ? ' invalid' : ''}`}>
      <span>{title}</span>
      {input}
      {issues[name] && <small className="error-text">{`${title} ${issues[name]}`}</small>}
    </label>
  );
  return (
    <form className="form" onSubmit={submit} noValidate>
      {field('username', 'User name', <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" required />)}
      {field('password', 'Password', <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" minLength={10} required />)}
      <p className="muted small">At least 10 characters. Hand it over safely; the user can have it reset later.</p>
      {field(
        'role',
        'Role',
        <select value={role} onChange={(e) => setRole(e.target.value)}>
          {roles.map((r) => (
            <option key={r.name} value={r.name}>
              {r.name}
              {r.description ? ` — ${r.description}` : ''}
            </option>
          ))}
        </select>,
      )}
      {role === 'agent' &&
        field(
          'agent_id',
          'Agent',
          <select value={agentId} onChange={(e) => setAgentId(e.target.value)}>
            <option value="">Choose the agent…</option>
            {agentList.map((a) => (
              <option key={a.id} value={a.id}>
                {a.agent_name}
              </option>
            ))}
          </select>,
        )}
      {error !== null && <InlineError what="create the user" error={error} />}
      <div className="dialog-actions">
        <button type="button" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || down}>
          {busy ? 'Creating…' : 'Create user'}
        </button>
      </div>
    </form>
  );
}

function PasswordForm({ user, close, saved }: { user: User; close(): void; saved(): void }) {
  const { client } = useConsole();
  const down = useAmsDown();
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [issue, setIssue] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setIssue(null);
    setError(null);
    if (password !== again) return setIssue('The two passwords differ.');
    setBusy(true);
    try {
      await client.users.update(user.id, { password });
      saved();
    } catch (err) {
      const f = byField(err);
      if (f.password) setIssue(`Password ${f.password}`);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit} noValidate>
      <label className={`field${issue ? ' invalid' : ''}`}>
        <span>New password</span>
        <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
      </label>
      <label className="field">
        <span>New password again</span>
        <input type="password" value={again} onChange={(e) => setAgain(e.target.value)} autoComplete="new-password" />
      </label>
      {issue && <p className="error-text">{issue}</p>}
      {error !== null && <InlineError what="change the password" error={error} />}
      <div className="dialog-actions">
        <button type="button" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || down || !password}>
          {busy ? 'Saving…' : 'Set password'}
        </button>
      </div>
    </form>
  );
}
