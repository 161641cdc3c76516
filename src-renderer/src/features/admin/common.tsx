// Pieces shared by the administration screens: what to show when the signed-in role may not
// use a screen (and why), and a result line for an action.
import { useConsoleStore } from '../../store/context';

/** Says which permission a screen or action needs and that the signed-in role lacks it. */
export function Unavailable({ what, permission }: { what: string; permission: string }) {
  const me = useConsoleStore((s) => s.me);
  return (
    <div className="state state-empty unavailable" role="status" data-testid="unavailable">
      <p className="state-title">{what}: not available to your role</p>
      <p className="state-hint">
        It needs the <code>{permission}</code> permission. You are signed in as <strong>{me?.username ?? 'someone'}</strong> with the role{' '}
        <strong>{me?.role ?? 'unknown'}</strong>, which does not have it. An administrator can grant it (Admin → Roles) or do this for you.
      </p>
    </div>
  );
}

/** A short confirmation of what an action did. */
export function Done({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p role="status" className="ok-text" data-testid="admin-done">
      {text}
    </p>
  );
}
