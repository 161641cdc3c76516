// Administration without curl (seed §8): users, roles with a permission picker, API tokens,
// notification channels and the audit log, each a tab. A tab the signed-in role may not use
// says which permission it needs.
import { useConsoleStore } from '../../store/context';
import { Link, type AdminSection } from '../../router';
import { StaleNote } from '../common/link';
import { UsersPanel } from './users-panel';
import { RolesPanel } from './roles-panel';
import { TokensPanel } from './tokens-panel';
import { ChannelsPanel } from './channels-panel';
import { AuditLogPanel } from './audit-panel';
import { Unavailable } from './common';

const SECTIONS: Array<{ id: AdminSection; title: string; permission: string }> = [
  { id: 'users', title: 'Users', permission: 'users:admin' },
  { id: 'roles', title: 'Roles', permission: 'users:admin' },
  { id: 'tokens', title: 'API tokens', permission: 'tokens:admin' },
  { id: 'channels', title: 'Notification channels', permission: 'users:admin' },
  { id: 'audit', title: 'Audit log', permission: 'audit:read' },
];

export function AdminView({ section }: { section: AdminSection }) {
  const me = useConsoleStore((s) => s.me);
  const can = useConsoleStore((s) => s.can);
  const current = SECTIONS.find((s) => s.id === section)!;
  const allowed = can(current.permission);
  return (
    <section className="view admin" aria-labelledby="admin-title">
      <header className="view-header">
        <h1 id="admin-title">Administration</h1>
        <p className="view-sub">{me ? `Signed in as ${me.username} (${me.role})` : ''}</p>
        <StaleNote />
      </header>
      <nav className="tabs" aria-label="Administration sections">
        {SECTIONS.map((s) => (
          <Link
            key={s.id}
            to={`/admin/${s.id}`}
            className={`tab${s.id === section ? ' active' : ''}${can(s.permission) ? '' : ' locked'}`}
            aria-current={s.id === section ? 'page' : undefined}
            title={can(s.permission) ? undefined : `Needs the ${s.permission} permission`}
          >
            {s.title}
            {!can(s.permission) && <span className="sr-only"> (not available to your role)</span>}
          </Link>
        ))}
      </nav>
      <div className="tab-body">
        {!me ? null : !allowed ? (
          <Unavailable what={current.title} permission={current.permission} />
        ) : section === 'users' ? (
          <UsersPanel />
        ) : section === 'roles' ? (
          <RolesPanel />
        ) : section === 'tokens' ? (
          <TokensPanel />
        ) : section === 'channels' ? (
          <ChannelsPanel />
        ) : (
          <AuditLogPanel />
        )}
      </div>
    </section>
  );
}
