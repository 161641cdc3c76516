// What the console shows until it is signed in: in a browser the login form (and the
// first-run setup with the token the AMS printed); in the desktop app the first-run profile
// choice, the bundled AMS starting, or the attach-mode login through the bridge.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { useConsole, useConsoleStore } from '../../store/context';
import { describeError } from '../../api/errors';
import { desktopBridge } from '../../desktop-bridge';
import { ProfilesPanel } from './profiles-panel';
import { AmsHealthPanel } from './ams-health';
import { Loading } from '../common/states';

export function ConnectView() {
  const session = useConsoleStore((s) => s.session);
  const bridge = desktopBridge();
  if (session.status === 'checking') return <Loading what="the session" />;
  if (bridge && session.status === 'needs-profile') {
    return (
      <div className="connect">
        <h1>Welcome to OPMAS Console</h1>
        <p>Run the AMS on this computer, or connect to one your team runs.</p>
        <ProfilesPanel bridge={bridge} activeId={null} firstRun />
      </div>
    );
  }
  if (bridge && session.status === 'host-waiting') {
    return (
      <div className="connect">
        <h1>{session.desktop?.profile?.name ?? 'Host mode'}</h1>
        <p role="status" data-testid="host-state">
          {session.message}
        </p>
        {session.desktop?.host?.status !== 'failed' && <Loading what="the bundled AMS" />}
        <ProfilesPanel bridge={bridge} activeId={session.desktop?.profile?.id ?? null} />
      </div>
    );
  }
  return (
    <div className="connect">
      <h1>Sign in</h1>
      {bridge && session.desktop?.profile && <p>to {session.desktop.profile.url ?? session.desktop.profile.name}</p>}
      {session.message && (
        <p className="inline-error" role="alert">
          {session.message}
        </p>
      )}
      <LoginForms desktop={!!bridge} />
      {!bridge && <AmsHealthPanel compact />}
      {bridge && <ProfilesPanel bridge={bridge} activeId={session.desktop?.profile?.id ?? null} />}
    </div>
  );
}

function LoginForms({ desktop }: { desktop: boolean }) {
  const { session } = useConsole();
  const [mode, setMode] = useState<'login' | 'setup'>('login');
  const [username, setUsername] = useState(desktop ? (session.view().desktop?.profile?.username ?? '') : '');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (mode === 'setup' && password !== confirm) return setError('The two passwords differ.');
    setBusy(true);
    try {
      if (mode === 'login') await session.login(username, password);
      else await session.setup(token.trim(), username, password);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
      setPassword('');
      setConfirm('');
    }
  };

  return (
    <form className="form login" onSubmit={submit} aria-labelledby="login-legend">
      <fieldset disabled={busy}>
        <legend id="login-legend">{mode === 'login' ? 'Your AMS account' : 'First run: create the first administrator'}</legend>
        {mode === 'setup' && (
          <>
            <p className="hint">
              With no user yet, the AMS printed a one-time setup token (<code>ost_…</code>) when it started. Paste it here to create the first admin.
            </p>
            <label className="field">
              <span>Setup token</span>
              <input name="token" value={token} onChange={(e) => setToken(e.target.value)} required autoComplete="off" />
            </label>
          </>
        )}
        <label className="field">
          <span>User name</span>
          <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="username" />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            minLength={mode === 'setup' ? 10 : undefined}
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          />
        </label>
        {mode === 'setup' && (
          <label className="field">
            <span>Password again</span>
            <input name="confirm" type="password" value={confirm} onChange={(e) => setConfirm(e.target.value)} required autoComplete="new-password" />
          </label>
        )}
        {error && (
          <p className="inline-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          {busy ? 'Signing in…' : mode === 'login' ? 'Sign in' : 'Create admin and sign in'}
        </button>
        {!desktop && (
          <button type="button" className="link-button" onClick={() => (setMode(mode === 'login' ? 'setup' : 'login'), setError(null))}>
            {mode === 'login' ? 'First run? Use the setup token' : 'I have an account'}
          </button>
        )}
      </fieldset>
    </form>
  );
}
