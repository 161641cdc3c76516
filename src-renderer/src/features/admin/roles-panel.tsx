// Roles: the built-in ones (read-only, with their permissions) and custom roles made with a
// permission picker; a role still held by users or tokens cannot be deleted (the AMS says so).
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { Permission, Role } from '../../api/types';
import { ApiError } from '../../api/errors';
import { useConsole } from '../../store/context';
import { ConfirmDialog, FormDialog } from '../common/dialog';
import { AsyncView, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { Done } from './common';
import { PERMISSION_GROUPS } from './permissions';

export function RolesPanel() {
  const { client } = useConsole();
  const down = useAmsDown();
  const roles = useResource(() => client.roles.list(), [client]);
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <section className="panel" aria-labelledby="roles-title">
      <div className="panel-head">
        <h2 id="roles-title">Roles</h2>
        <button type="button" className="primary" onClick={() => setEditing('new')} disabled={down} title={down ? NEEDS_AMS : undefined}>
          New role…
        </button>
      </div>
      <p className="muted small">Built-in roles cannot be changed. A custom role is a name and a set of permissions; users and API tokens hold one role each.</p>
      <Done text={done} />
      {error !== null && <InlineError what="delete the role" error={error} />}
      <AsyncView state={roles.state} what="the roles" retry={() => void roles.reload()}>
        {(list) => (
          <ul className="role-list" data-testid="roles">
            {list.items.map((r) => (
              <li key={r.name} data-role={r.name}>
                <div className="role-head">
                  <strong>{r.name}</strong>
                  {r.builtin ? <span className="badge small">built-in</span> : <span className="badge small">custom</span>}
                  {r.description && <span className="muted small">{r.description}</span>}
                  {!r.builtin && (
                    <span className="row">
                      <button type="button" onClick={() => setEditing(r)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                        Edit…
                      </button>
                      <button type="button" className="danger" onClick={() => setDeleting(r)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                        Delete…
                      </button>
                    </span>
                  )}
                </div>
                <p className="small permission-list">{r.permissions.length === 17 ? 'All permissions' : r.permissions.join(', ') || 'No permission'}</p>
              </li>
            ))}
          </ul>
        )}
      </AsyncView>
      <FormDialog wide open={editing !== null} title={editing === 'new' ? 'New role' : `Edit role ${editing?.name ?? ''}`} onClose={() => setEditing(null)}>
        {editing !== null && (
          <RoleForm
            role={editing === 'new' ? null : editing}
            close={() => setEditing(null)}
            saved={(r, created) => {
              setEditing(null);
              setDone(`${created ? 'Created' : 'Saved'} role ${r.name} (${r.permissions.length} permissions).`);
              void roles.reload();
            }}
          />
        )}
      </FormDialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete role ${deleting?.name ?? ''}?`}
        confirmLabel="Delete role"
        danger
        disabled={down}
        disabledReason={NEEDS_AMS}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const r = deleting!;
          setDeleting(null);
          setError(null);
          client.roles
            .remove(r.name)
            .then(() => (setDone(`Deleted role ${r.name}.`), void roles.reload()))
            .catch(setError);
        }}
      >
        <p>Only a role that no user and no API token holds can be deleted.</p>
      </ConfirmDialog>
    </section>
  );
}

function RoleForm({ role, close, saved }: { role: Role | null; close(): void; saved(r: Role, created: boolean): void }) {
  const { client } = useConsole();
  const down = useAmsDown();
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [picked, setPicked] = useState<Set<string>>(() => new Set(role?.permissions ?? []));
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (p: string) => setPicked((s) => (s.has(p) ? new Set([...s].filter((x) => x !== p)) : new Set([...s, p])));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setIssues({});
    setError(null);
    const permissions = [...picked] as Permission[];
    try {
      const r = role
        ? await client.roles.update(role.name, { description: description || null, permissions })
        : await client.roles.create({ name, description: description || null, permissions });
      saved(r, !role);
    } catch (err) {
      if (err instanceof ApiError && err.fieldIssues.length) setIssues(Object.fromEntries(err.fieldIssues.map((i) => [i.path.split('.')[0], i.reason])));
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form role-form" onSubmit={submit} noValidate>
      {!role && (
        <label className={`field${issues.name ? ' invalid' : ''}`}>
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. on-call" autoComplete="off" />
          {issues.name ? <small className="error-text">Name {issues.name}</small> : <small className="muted">Lower-case letters, digits and -.</small>}
        </label>
      )}
      <label className="field">
        <span>Description (optional)</span>
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} />
      </label>
      <fieldset className="permission-picker" data-testid="permission-picker">
        <legend>Permissions ({picked.size} chosen)</legend>
        {PERMISSION_GROUPS.map((g) => (
          <div key={g.title} className="permission-group">
            <h3>{g.title}</h3>
            {g.permissions.map((p) => (
              <label key={p.id} className="check">
                <input type="checkbox" checked={picked.has(p.id)} onChange={() => toggle(p.id)} />
                <span>
                  <code>{p.id}</code> <span className="muted small block">{p.text}</span>
                </span>
              </label>
            ))}
          </div>
        ))}
        {issues.permissions && <small className="error-text">Permissions {issues.permissions}</small>}
      </fieldset>
      {error !== null && <InlineError what="save the role" error={error} />}
      <div className="dialog-actions">
        <button type="button" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || down}>
          {busy ? 'Saving…' : role ? 'Save role' : 'Create role'}
        </button>
      </div>
    </form>
  );
}
