// Notification channels: webhook (Slack-compatible JSON), email (SMTP) and the built-in desktop
// channel; create, edit with secrets masked (left as they are, they are kept), send a test
// message and show its delivery result, delete; and the routing of alerts to them.
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { AlertSeverity, ChannelTestResult, NotificationChannel, NotificationChannels, PutNotificationChannels } from '../../api/types';
import { ApiError } from '../../api/errors';
import { useConsole } from '../../store/context';
import { ConfirmDialog, FormDialog } from '../common/dialog';
import { dateTime, label } from '../common/format';
import { AsyncView, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { Done } from './common';

const MASK = '********';
const TYPE_TEXT: Record<string, string> = { webhook: 'Webhook (Slack-compatible JSON)', email: 'Email (SMTP)', desktop: 'Desktop notifications' };
const SOURCE_TEXT: Record<string, string> = { database: 'managed here', environment: 'from the AMS environment (read-only)', builtin: 'built in (read-only)' };

type ChannelEntry = PutNotificationChannels['channels'][number];

/** What a PUT sends for the managed channels: what GET answered (masked secrets are kept by the AMS). */
export function managedEntries(view: NotificationChannels): ChannelEntry[] {
  return view.channels.filter((c) => c.source === 'database').map((c) => ({ name: c.name, type: c.type, enabled: c.enabled, min_severity: c.min_severity, settings: c.settings }) as ChannelEntry);
}

export function ChannelsPanel() {
  const { client } = useConsole();
  const down = useAmsDown();
  const data = useResource(() => client.channels.get(), [client]);
  const [editing, setEditing] = useState<NotificationChannel | 'new' | null>(null);
  const [deleting, setDeleting] = useState<NotificationChannel | null>(null);
  const [tests, setTests] = useState<Record<string, ChannelTestResult | 'sending' | { error: unknown }>>({});
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const put = async (body: PutNotificationChannels, what: string) => {
    setError(null);
    setDone(null);
    const view = await client.channels.put(body);
    data.set(view);
    setDone(what);
  };
  const test = async (name: string) => {
    setTests((t) => ({ ...t, [name]: 'sending' }));
    try {
      const r = await client.channels.test(name);
      setTests((t) => ({ ...t, [name]: r }));
    } catch (e) {
      setTests((t) => ({ ...t, [name]: { error: e } }));
    }
  };

  return (
    <div className="channels-admin">
      <section className="panel" aria-labelledby="channels-title">
        <div className="panel-head">
          <h2 id="channels-title">Notification channels</h2>
          <button type="button" className="primary" onClick={() => setEditing('new')} disabled={down} title={down ? NEEDS_AMS : undefined}>
            New channel…
          </button>
        </div>
        <p className="muted small">Secrets (the webhook URL's path, the SMTP password) are never shown; leave them masked to keep them.</p>
        <Done text={done} />
        {error !== null && <InlineError what="save the channels" error={error} />}
        <AsyncView state={data.state} what="the notification channels" retry={() => void data.reload()}>
          {(view) => (
            <ul className="channel-list" data-testid="channels">
              {view.channels.map((c) => {
                const t = tests[c.name];
                return (
                  <li key={c.name} data-channel={c.name}>
                    <div className="channel-head">
                      <strong>{c.name}</strong>
                      <span className="muted small">{TYPE_TEXT[c.type] ?? c.type}</span>
                      <span className="muted small">{SOURCE_TEXT[c.source]}</span>
                      {!c.enabled && <span className="badge small">disabled</span>}
                      {c.min_severity && <span className="small">from {c.min_severity}</span>}
                    </div>
                    <p className="small channel-settings">{describeSettings(c)}</p>
                    <div className="row">
                      <button type="button" onClick={() => void test(c.name)} disabled={down || t === 'sending'} title={down ? NEEDS_AMS : undefined}>
                        {t === 'sending' ? 'Sending…' : 'Send a test message'}
                      </button>
                      {!c.read_only && (
                        <>
                          <button type="button" onClick={() => setEditing(c)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                            Edit…
                          </button>
                          <button type="button" className="danger" onClick={() => setDeleting(c)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                            Delete…
                          </button>
                        </>
                      )}
                    </div>
                    {t && t !== 'sending' && <TestResult result={t} />}
                  </li>
                );
              })}
            </ul>
          )}
        </AsyncView>
      </section>
      {data.state.data && <RoutingPanel view={data.state.data} save={put} />}
      <FormDialog open={editing !== null} title={editing === 'new' ? 'New notification channel' : `Edit channel ${editing?.name ?? ''}`} onClose={() => setEditing(null)}>
        {editing !== null && data.state.data && (
          <ChannelForm
            channel={editing === 'new' ? null : editing}
            view={data.state.data}
            close={() => setEditing(null)}
            save={async (entry) => {
              const others = managedEntries(data.state.data!).filter((c) => c.name !== (editing === 'new' ? entry.name : editing.name));
              await put({ channels: [...others, entry] }, `${editing === 'new' ? 'Created' : 'Saved'} channel ${entry.name}.`);
              setEditing(null);
            }}
          />
        )}
      </FormDialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete channel ${deleting?.name ?? ''}?`}
        confirmLabel="Delete channel"
        danger
        disabled={down}
        disabledReason={NEEDS_AMS}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          const c = deleting!;
          setDeleting(null);
          const view = data.state.data!;
          const drop = (list: string[] | null) => (list ? list.filter((n) => n !== c.name) : list);
          void put(
            {
              channels: managedEntries(view).filter((x) => x.name !== c.name),
              routing: { channels: drop(view.routing.channels), escalation_channels: drop(view.routing.escalation_channels) ?? [] },
            },
            `Deleted channel ${c.name}.`,
          ).catch(setError);
        }}
      >
        <p>Alerts are no longer sent to it; routes naming it stop naming it.</p>
      </ConfirmDialog>
    </div>
  );
}

function describeSettings(c: NotificationChannel): string {
  const s = c.settings as Record<string, unknown>;
  if (c.type === 'webhook') return `POST to ${String(s.url ?? '')} · timeout ${s.timeout_s} s, ${s.max_attempts} attempts`;
  if (c.type === 'email') {
    const to = Array.isArray(s.to) ? s.to.join(', ') : '';
    return `${s.host}:${s.port}${s.secure ? ' (TLS)' : ''}${s.user ? ` as ${s.user}` : ''}, password ${s.password ? 'set' : 'none'} · from ${s.from} to ${to}`;
  }
  return 'Alert events on the live stream; the desktop app shows them as notifications.';
}

function TestResult({ result }: { result: ChannelTestResult | { error: unknown } }) {
  if ('error' in result && !('ok' in result)) return <InlineError what="send the test message" error={result.error} />;
  const r = result as ChannelTestResult;
  return (
    <p className={r.ok ? 'ok-text small' : 'error-text small'} role="status" data-testid="channel-test-result">
      {r.ok ? '✓ ' : '✗ '}
      {r.detail} <span className="muted">({dateTime(r.sent_at).slice(11)}, {Math.round(r.duration_ms)} ms)</span>
    </p>
  );
}

function RoutingPanel({ view, save }: { view: NotificationChannels; save(body: PutNotificationChannels, what: string): Promise<void> }) {
  const down = useAmsDown();
  const [min, setMin] = useState<AlertSeverity>(view.routing.min_severity);
  const [every, setEvery] = useState(view.routing.channels === null);
  const [route, setRoute] = useState<Set<string>>(new Set(view.routing.channels ?? []));
  const [escalation, setEscalation] = useState<Set<string>>(new Set(view.routing.escalation_channels));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const names = view.channels.map((c) => c.name);
  const flip = (set: Set<string>, n: string) => (set.has(n) ? new Set([...set].filter((x) => x !== n)) : new Set([...set, n]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await save(
        { channels: managedEntries(view), routing: { min_severity: min, channels: every ? null : [...route], escalation_channels: [...escalation] } },
        'Saved the routing.',
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="routing-title">
      <h2 id="routing-title">Routing</h2>
      <p className="muted small">
        {view.routing.source === 'environment' ? 'Now from the AMS environment; saving here overrides it.' : 'Set here.'} Critical alerts and escalated recoveries also go to
        the escalation channels (unless the agent's recovery policy names its own).
      </p>
      <form className="form" onSubmit={submit}>
        <label className="field inline">
          <span>Send alerts from</span>
          <select value={min} onChange={(e) => setMin(e.target.value as AlertSeverity)}>
            {(['info', 'warning', 'critical'] as const).map((s) => (
              <option key={s} value={s}>
                {label(s)}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="field">
          <legend>To</legend>
          <label className="check">
            <input type="checkbox" checked={every} onChange={(e) => setEvery(e.target.checked)} /> Every enabled channel
          </label>
          {!every &&
            names.map((n) => (
              <label key={n} className="check">
                <input type="checkbox" checked={route.has(n)} onChange={() => setRoute(flip(route, n))} /> {n}
              </label>
            ))}
        </fieldset>
        <fieldset className="field">
          <legend>Escalation channels</legend>
          {names.map((n) => (
            <label key={n} className="check">
              <input type="checkbox" checked={escalation.has(n)} onChange={() => setEscalation(flip(escalation, n))} /> {n}
            </label>
          ))}
        </fieldset>
        {error !== null && <InlineError what="save the routing" error={error} />}
        <button type="submit" disabled={busy || down} title={down ? NEEDS_AMS : undefined}>
          {busy ? 'Saving…' : 'Save routing'}
        </button>
      </form>
    </section>
  );
}

function ChannelForm({ channel, view, close, save }: { channel: NotificationChannel | null; view: NotificationChannels; close(): void; save(entry: ChannelEntry): Promise<void> }) {
  const down = useAmsDown();
  const s = (channel?.settings ?? {}) as Record<string, unknown>;
  const [type, setType] = useState<'webhook' | 'email'>(channel?.type === 'email' ? 'email' : 'webhook');
  const [name, setName] = useState(channel?.name ?? '');
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [minSeverity, setMinSeverity] = useState<string>(channel?.min_severity ?? '');
  const [url, setUrl] = useState(String(s.url ?? ''));
  const [host, setHost] = useState(String(s.host ?? ''));
  const [port, setPort] = useState(s.port ? String(s.port) : '');
  const [secure, setSecure] = useState(s.secure === true);
  const [user, setUser] = useState(String(s.user ?? ''));
  const [password, setPassword] = useState('');
  const [clearPassword, setClearPassword] = useState(false);
  const [from, setFrom] = useState(String(s.from ?? ''));
  const [to, setTo] = useState(Array.isArray(s.to) ? (s.to as string[]).join(', ') : '');
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const hadPassword = s.password === MASK;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setIssues({});
    setError(null);
    if (!channel && view.channels.some((c) => c.name === name)) return setIssues({ name: 'is taken by another channel' });
    const common = { name, enabled, min_severity: (minSeverity || null) as AlertSeverity | null };
    const delivery = { timeout_s: (s.timeout_s as number | undefined) ?? 10, max_attempts: (s.max_attempts as number | undefined) ?? 4, retry_delay_s: (s.retry_delay_s as number | undefined) ?? 2 };
    const entry: ChannelEntry =
      type === 'webhook'
        ? { ...common, type: 'webhook', settings: { url, ...delivery } }
        : {
            ...common,
            type: 'email',
            settings: {
              host,
              ...(port ? { port: Number(port) } : {}),
              secure,
              user: user || null,
              // The masked value keeps the stored password; null clears it.
              password: clearPassword ? null : password ? password : hadPassword ? MASK : null,
              from,
              to: to.split(',').map((x) => x.trim()).filter(Boolean),
              ...delivery,
            },
          };
    setBusy(true);
    try {
      await save(entry);
    } catch (err) {
      if (err instanceof ApiError && err.fieldIssues.length) {
        // channels.<i>.settings.url → settings.url
        setIssues(Object.fromEntries(err.fieldIssues.map((i) => [i.path.replace(/^channels\.\d+\./, '').replace(/\.\d+$/, ''), i.reason])));
      } else setError(err);
    } finally {
      setBusy(false);
    }
  };
  const text = (key: string, title: string, value: string, set: (v: string) => void, extra: Partial<React.InputHTMLAttributes<HTMLInputElement>> = {}, hint?: string) => (
    <label className={`field${issues[key] ? ' invalid' : ''}`}>
      <span>{title}</span>
      <input value={value} onChange={(e) => set(e.target.value)} aria-invalid={!!issues[key]} {...extra} />
      {issues[key] ? <small className="error-text">{`${title} ${issues[key]}`}</small> : hint ? <small className="muted">{hint}</small> : null}
    </label>
  );
  return (
    <form className="form channel-form" onSubmit={submit} noValidate>
      {!channel && (
        <fieldset className="field">
          <legend>Type</legend>
          <label className="radio">
            <input type="radio" name="channel-type" checked={type === 'webhook'} onChange={() => setType('webhook')} /> Webhook — Slack, Mattermost, Teams or any
            receiver of JSON
          </label>
          <label className="radio">
            <input type="radio" name="channel-type" checked={type === 'email'} onChange={() => setType('email')} /> Email through an SMTP server
          </label>
        </fieldset>
      )}
      {!channel && text('name', 'Name', name, setName, { autoComplete: 'off' }, 'Letters, digits, _ or -.')}
      <label className="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
      </label>
      <label className="field">
        <span>Only alerts from</span>
        <select value={minSeverity} onChange={(e) => setMinSeverity(e.target.value)}>
          <option value="">Any severity</option>
          <option value="warning">Warning</option>
          <option value="critical">Critical</option>
        </select>
      </label>
      {type === 'webhook' ? (
        text('settings.url', 'URL', url, setUrl, { type: 'text', placeholder: 'https://hooks.slack.com/services/…', autoComplete: 'off' }, channel ? 'Shown masked; leave it to keep the stored URL.' : undefined)
      ) : (
        <>
          {text('settings.host', 'SMTP host', host, setHost)}
          {text('settings.port', 'Port', port, setPort, { inputMode: 'numeric', placeholder: secure ? '465' : '587' })}
          <label className="check">
            <input type="checkbox" checked={secure} onChange={(e) => setSecure(e.target.checked)} /> TLS from the first byte (port 465); otherwise STARTTLS when offered
          </label>
          {text('settings.user', 'User (optional)', user, setUser, { autoComplete: 'off' })}
          <label className={`field${issues['settings.password'] ? ' invalid' : ''}`}>
            <span>Password</span>
            <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" placeholder={hadPassword ? MASK : ''} disabled={clearPassword} />
            {hadPassword && <small className="muted">Leave empty to keep the stored password.</small>}
          </label>
          {hadPassword && (
            <label className="check">
              <input type="checkbox" checked={clearPassword} onChange={(e) => setClearPassword(e.target.checked)} /> Remove the stored password
            </label>
          )}
          {text('settings.from', 'From', from, setFrom, { placeholder: 'OPMAS <ams@example.org>' })}
          {text('settings.to', 'To', to, setTo, { placeholder: 'oncall@example.org, lead@example.org' }, 'Comma-separated.')}
        </>
      )}
      {error !== null && <InlineError what="save the channel" error={error} />}
      <div className="dialog-actions">
        <button type="button" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || down}>
          {busy ? 'Saving…' : channel ? 'Save channel' : 'Create channel'}
        </button>
      </div>
    </form>
  );
}
