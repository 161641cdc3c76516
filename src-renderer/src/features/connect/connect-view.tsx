// What the console shows until it is signed in: in a browser the login form (and the
// first-run setup with the token the AMS printed); in the desktop app the first-run profile
// choice, the bundled AMS starting, or the attach-mode login through the bridge.
import { useEffect, useState } from 'react';
import type { ChangeEvent, FormEvent, InvalidEvent } from 'react';
import { useConsole, useConsoleStore } from '../../store/context';
import { ApiError } from '../../api/errors';
import { constraintMessage, type SignInErrors, type SignInField, signInErrors } from './sign-in-errors';
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
      <LoginForms desktop={!!bridge} to={bridge ? (session.desktop?.profile?.url ?? session.desktop?.profile?.name) : undefined} message={session.message} />
      {!bridge && <AmsHealthPanel compact />}
      {bridge && <ProfilesPanel bridge={bridge} activeId={session.desktop?.profile?.id ?? null} />}
    </div>
  );
}

function SessionMessage({ message }: { message?: string | null }) {
  return (
    <>
      {message && (
        <p className="inline-error" role="alert">
          {message}
        </p>
      )}
    </>
  );
}

type Mode = 'login' | 'setup';

const MIN_PASSWORD = 10;

function LoginForms({ desktop, to, message }: { desktop: boolean; to?: string; message?: string | null }) {
  const { session, client } = useConsole();
  // With no user yet the AMS says so (GET /auth/setup), and the first page is the setup form.
  const [mode, setMode] = useState<Mode | null>(desktop ? 'login' : null);
  useEffect(() => {
    if (desktop) return;
    let live = true;
    client.setupStatus().then(
      (s) => live && setMode((m) => m ?? (s.setup_required ? 'setup' : 'login')),
      () => live && setMode((m) => m ?? 'login'),
    );
    return () => {
      live = false;
    };
  }, [client, desktop]);
  const [username, setUsername] = useState(desktop ? (session.view().desktop?.profile?.username ?? '') : '');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<SignInErrors>({});

  if (mode === null) return <Loading what="whether this AMS has users yet" />;
  const heading = (
    <>
      <h1>{mode === 'setup' ? 'Set up this AMS' : 'Sign in'}</h1>
      {to && <p>to {to}</p>}
      <SessionMessage message={message} />
    </>
  );

  const fieldError = (field: keyof SignInErrors, message: string | undefined) => setErrors((e) => ({ ...e, [field]: message }));
  // The browser refused the submit: say why, by the field (its own bubble is easy to miss).
  const onInvalid = (field: SignInField, label: string) => (e: InvalidEvent<HTMLInputElement>) => {
    e.preventDefault();
    const input = e.currentTarget;
    fieldError(field, constraintMessage(label, input.validity, { minLength: input.minLength > 0 ? input.minLength : undefined, length: input.value.length }));
  };
  const edit = (field: SignInField, set: (v: string) => void) => (e: ChangeEvent<HTMLInputElement>) => {
    set(e.target.value);
    if (errors[field]) fieldError(field, undefined);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const local: SignInErrors = {};
    if (mode === 'setup' && password.length < MIN_PASSWORD) local.password = `Password must be at least ${MIN_PASSWORD} characters (it has ${password.length}).`;
    if (mode === 'setup' && password !== confirm) local.confirm = 'The two passwords differ.';
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    setBusy(true);
    try {
      if (mode === 'login') await session.login(username, password);
      else await session.setup(token.trim(), username, password);
    } catch (err) {
      // What was typed stays in the fields; the messages never repeat it.
      setErrors(signInErrors(err));
      if (err instanceof ApiError && err.code === 'setup_not_available') setMode('login');
    } finally {
      setBusy(false);
    }
  };

  const problem = (field: SignInField) =>
    errors[field] ? (
      <span className="field-error" id={`${field}-error`} role="alert" data-testid={`${field}-error`}>
        {errors[field]}
      </span>
    ) : null;
  const describedBy = (field: SignInField) => (errors[field] ? `${field}-error` : undefined);

  return (
    <>
      {heading}
      <form className="form login" onSubmit={submit} aria-labelledby="login-legend" data-mode={mode}>
        <fieldset disabled={busy}>
          <legend id="login-legend">{mode === 'login' ? 'Your AMS account' : 'First run: create the first administrator'}</legend>
          {mode === 'setup' && (
            <>
              <p className="hint">
                This AMS has no user yet. When it started, it printed a one-time setup token (<code>ost_…</code>) in its terminal. Paste it here and
                choose the first administrator&apos;s name and password (at least {MIN_PASSWORD} characters).
              </p>
              <label className="field">
                <span>Setup token</span>
                <input
                  name="token"
                  value={token}
                  onChange={edit('token', setToken)}
                  onInvalid={onInvalid('token', 'The setup token')}
                  required
                  autoComplete="off"
                  aria-invalid={errors.token ? true : undefined}
                  aria-describedby={describedBy('token')}
                />
              </label>
              {problem('token')}
            </>
          )}
          <label className="field">
            <span>User name</span>
            <input
              name="username"
              value={username}
              onChange={edit('username', setUsername)}
              onInvalid={onInvalid('username', 'The user name')}
              required
              autoComplete="username"
              aria-invalid={errors.username ? true : undefined}
              aria-describedby={describedBy('username')}
            />
          </label>
          {problem('username')}
          <label className="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              value={password}
              onChange={edit('password', setPassword)}
              onInvalid={onInvalid('password', 'The password')}
              required
              minLength={mode === 'setup' ? MIN_PASSWORD : undefined}
              autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
              aria-invalid={errors.password ? true : undefined}
              aria-describedby={describedBy('password')}
            />
          </label>
          {problem('password')}
          {mode === 'setup' && (
            <>
              <label className="field">
                <span>Password again</span>
                <input
                  name="confirm"
                  type="password"
                  value={confirm}
                  onChange={edit('confirm', setConfirm)}
                  onInvalid={onInvalid('confirm', 'The password again')}
                  required
                  autoComplete="new-password"
                  aria-invalid={errors.confirm ? true : undefined}
                  aria-describedby={describedBy('confirm')}
                />
              </label>
              {problem('confirm')}
            </>
          )}
          {errors.form && (
            <p className="inline-error" role="alert" data-testid="login-error">
              {errors.form}
            </p>
          )}
          <button type="submit" className="primary">
            {busy ? 'Signing in…' : mode === 'login' ? 'Sign in' : 'Create admin and sign in'}
          </button>
          {!desktop && (
            <button type="button" className="link-button" onClick={() => (setMode(mode === 'login' ? 'setup' : 'login'), setErrors({}))}>
              {mode === 'login' ? 'First run? Use the setup token' : 'I have an account'}
            </button>
          )}
        </fieldset>
      </form>
    </>
  );
}
