// Alerts for an on-call person: open, acknowledged and resolved, filtered by severity, rule,
// agent and label and sorted worst first (all in the URL); acknowledge one or a selection;
// silence an agent or a rule for a while with a reason, see the silences and end them. Each
// alert links to its agent at the moment it was raised. Everything updates live.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Alert, NewSilence, Silence } from '../../api/types';
import { ApiError } from '../../api/errors';
import { useConsoleStore } from '../../store/context';
import { silenceActive, silenceFor } from '../../store/alerts-slice';
import { Link, agentPath, navigate, useLocation } from '../../router';
import { Badge } from '../common/badges';
import { FormDialog } from '../common/dialog';
import { dateTime, label, plural, relativeTime } from '../common/format';
import { RelativeTime } from '../common/relative-time';
import { Empty, ErrorState, InlineError, Loading } from '../common/states';
import { NEEDS_AMS, StaleNote, useAmsDown } from '../common/link';
import { useNow } from '../common/use-now';
import {
  ALERT_STATUSES, type AlertQuery, SEVERITIES, SILENCE_DURATIONS, SORTS, alertQueryFromSearch, countByStatus, searchFromAlertQuery, selectAlerts,
} from './alert-query';

/** What a new silence is prefilled with: from an alert (its agent and rule), or nothing. */
interface SilenceDraft {
  agent_id: string;
  rule: string;
}

export function AlertsView() {
  const { alerts, silences, rules, load, loadSilences, loadRules, canWrite, agents } = useConsoleStore(
    useShallow((s) => ({
      alerts: s.alerts,
      silences: s.silences,
      rules: s.alertRules,
      load: s.loadAlerts,
      loadSilences: s.loadSilences,
      loadRules: s.loadAlertRules,
      canWrite: s.can('alerts:write'),
      agents: s.fleet.agents,
      membership: s.fleet.membership,
    })),
  );
  const { search } = useLocation();
  const query = useMemo(() => alertQueryFromSearch(search), [search]);
  const setQuery = useCallback((patch: Partial<AlertQuery>) => navigate(`/alerts${searchFromAlertQuery({ ...alertQueryFromSearch(location.search), ...patch })}`, { replace: true }), []);
  const [selected, setSelected] = useState<Set<number>>(() => new Set());
  const [silencing, setSilencing] = useState<SilenceDraft | null>(null);
  const now = useNow();
  const down = useAmsDown();

  useEffect(() => {
    if (alerts.status === 'idle') void load();
    if (silences.status === 'idle') void loadSilences();
    if (rules.length === 0) void loadRules();
  }, []);

  const all = useMemo(() => Object.values(alerts.items), [alerts.items]);
  const counts = useMemo(() => countByStatus(all), [all]);
  const shown = useMemo(() => selectAlerts(all, query, agents), [all, query, agents]);
  const silenceList = useMemo(() => Object.values(silences.items), [silences.items]);
  const ruleIds = useMemo(() => [...new Set([...rules.map((r) => r.id), ...all.map((a) => a.rule)])].sort(), [rules, all]);
  const agentIds = useMemo(() => [...new Set(all.map((a) => a.agent_id).filter((x): x is string => !!x))], [all]);
  const labelOptions = useMemo(() => {
    const set = new Set<string>();
    for (const id of agentIds) for (const [k, v] of Object.entries(agents.get(id)?.labels ?? {})) set.add(`${k}:${v}`);
    return [...set].sort();
  }, [agentIds, agents]);
  const nameOf = (id: string | null) => (id ? (agents.get(id)?.agent_name ?? id) : 'the fleet');
  const selectable = canWrite && query.status === 'open';
  const selectedShown = shown.filter((a) => selected.has(a.id));

  return (
    <section className="view alerts" aria-labelledby="alerts-title">
      <header className="view-header">
        <h1 id="alerts-title">Alerts</h1>
        <StaleNote />
        {canWrite ? (
          <button type="button" onClick={() => setSilencing({ agent_id: '', rule: '' })} disabled={down} title={down ? NEEDS_AMS : undefined}>
            New silence…
          </button>
        ) : (
          <span className="muted small">Acknowledging and silencing need the alerts:write permission.</span>
        )}
      </header>
      <div className="segmented" role="group" aria-label="Alert status">
        {ALERT_STATUSES.map((s) => (
          <button key={s} type="button" aria-pressed={query.status === s} onClick={() => (setSelected(new Set()), setQuery({ status: s }))} data-testid={`alerts-${s}`}>
            {label(s)} <span className="count-n">{counts[s] ?? 0}</span>
          </button>
        ))}
      </div>
      <div className="toolbar alert-filters" role="search" aria-label="Alert filters">
        <fieldset className="field severity-filter">
          <legend>Severity</legend>
          {SEVERITIES.map((sev) => (
            <label key={sev} className="check">
              <input
                type="checkbox"
                checked={query.severity.includes(sev)}
                onChange={(e) => setQuery({ severity: e.target.checked ? [...query.severity, sev] : query.severity.filter((x) => x !== sev) })}
              />{' '}
              {label(sev)}
            </label>
          ))}
        </fieldset>
        <label className="field">
          <span>Rule</span>
          <select aria-label="Rule" value={query.rule} onChange={(e) => setQuery({ rule: e.target.value })}>
            <option value="">Any</option>
            {ruleIds.map((r) => (
              <option key={r} value={r}>
                {label(r)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Agent</span>
          <select aria-label="Agent" value={query.agent} onChange={(e) => setQuery({ agent: e.target.value })}>
            <option value="">Any</option>
            {[...new Set([...agentIds, ...(query.agent ? [query.agent] : [])])]
              .sort((x, y) => nameOf(x).localeCompare(nameOf(y)))
              .map((id) => (
                <option key={id} value={id}>
                  {nameOf(id)}
                </option>
              ))}
          </select>
        </label>
        <label className="field">
          <span>Label</span>
          <select aria-label="Label" value={query.label} onChange={(e) => setQuery({ label: e.target.value })}>
            <option value="">Any</option>
            {[...new Set([...labelOptions, ...(query.label ? [query.label] : [])])].map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Sort</span>
          <select aria-label="Sort" value={query.sort} onChange={(e) => setQuery({ sort: e.target.value as AlertQuery['sort'] })}>
            {SORTS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="alerts-layout">
        <div className="alerts-main">
          {selectable && shown.length > 0 && <AckBar shown={shown} selected={selectedShown} setSelected={setSelected} down={down} />}
          {alerts.status === 'error' && all.length === 0 ? (
            <ErrorState what="load the alerts" error={alerts.error} retry={() => void load()} />
          ) : alerts.status === 'loading' && all.length === 0 ? (
            <Loading what="the alerts" />
          ) : shown.length === 0 ? (
            <Empty title={counts[query.status] > 0 ? `No ${query.status} alert matches these filters` : query.status === 'open' ? 'No open alert' : `No ${query.status} alert`}>
              {counts[query.status] > 0
                ? 'Clear a filter above to see the others.'
                : query.status === 'open'
                  ? 'The AMS raises an alert when an agent fails, its recovery gives up, or a threshold is crossed. New ones appear here live.'
                  : query.status === 'acknowledged'
                    ? 'Alerts you acknowledge stay here until they resolve.'
                    : 'Alerts move here once their cause is gone.'}
            </Empty>
          ) : (
            <ul className="alert-list" data-testid="alert-list">
              {shown.map((a) => (
                <AlertItem
                  key={a.id}
                  alert={a}
                  agentName={nameOf(a.agent_id)}
                  silence={silenceFor(a, silenceList, now) ?? (a.silence_id ? silences.items[a.silence_id] : undefined)}
                  selectable={selectable}
                  selected={selected.has(a.id)}
                  toggle={() => setSelected((s) => (s.has(a.id) ? new Set([...s].filter((x) => x !== a.id)) : new Set([...s, a.id])))}
                  canWrite={canWrite}
                  down={down}
                  silenceIt={() => setSilencing({ agent_id: a.agent_id ?? '', rule: a.rule })}
                />
              ))}
            </ul>
          )}
        </div>
        <SilencesPanel silences={silenceList} state={silences} nameOf={nameOf} canWrite={canWrite} down={down} retry={() => void loadSilences()} />
      </div>
      <FormDialog open={silencing !== null} title="Silence alerts" onClose={() => setSilencing(null)}>
        {silencing && <SilenceForm draft={silencing} ruleIds={ruleIds} agentIds={agentIds} nameOf={nameOf} close={() => setSilencing(null)} />}
      </FormDialog>
    </section>
  );
}

function AckBar({ shown, selected, setSelected, down }: { shown: Alert[]; selected: Alert[]; setSelected(s: Set<number>): void; down: boolean }) {
  const ackAlerts = useConsoleStore((s) => s.ackAlerts);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const all = shown.length > 0 && shown.every((a) => selected.some((s) => s.id === a.id));
  const ack = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await ackAlerts(selected.map((a) => a.id));
      setResult(`Acknowledged ${plural(r.acknowledged.length, 'alert')}${r.skipped.length ? `; ${r.skipped.length} skipped (${r.skipped.map((s) => s.message).join('; ')})` : ''}.`);
      setSelected(new Set());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="bulk-bar">
      <label className="check">
        <input type="checkbox" checked={all} onChange={() => setSelected(all ? new Set() : new Set(shown.map((a) => a.id)))} /> Select all {shown.length} shown
      </label>
      {selected.length > 0 && (
        <button type="button" className="primary" onClick={() => void ack()} disabled={busy || down} title={down ? NEEDS_AMS : undefined} data-testid="ack-selected">
          {busy ? 'Acknowledging…' : `Acknowledge ${plural(selected.length, 'alert')}`}
        </button>
      )}
      {result && (
        <span role="status" className="ok-text" data-testid="ack-result">
          {result}
        </span>
      )}
      {error !== null && <InlineError what="acknowledge" error={error} />}
    </div>
  );
}

function AlertItem({
  alert: a,
  agentName,
  silence,
  selectable,
  selected,
  toggle,
  canWrite,
  down,
  silenceIt,
}: {
  alert: Alert;
  agentName: string;
  silence: Silence | undefined;
  selectable: boolean;
  selected: boolean;
  toggle(): void;
  canWrite: boolean;
  down: boolean;
  silenceIt(): void;
}) {
  const ack = useConsoleStore((s) => s.ackAlert);
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const doAck = async () => {
    setBusy(true);
    setError(null);
    try {
      await ack(a.id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const active = silence && silenceActive(silence, now);
  return (
    <li className={`alert-item severity-${a.severity}${selected ? ' selected' : ''}`} data-alert-id={a.id} data-severity={a.severity}>
      <div className="alert-head">
        {selectable && <input type="checkbox" aria-label={`Select: ${a.title}`} checked={selected} onChange={toggle} />}
        <Badge kind="severity" value={a.severity} />
        <strong className="alert-title">{a.title}</strong>
        {a.count > 1 && <span className="muted">×{a.count}</span>}
        <span className="muted small">{label(a.rule)}</span>
        {silence && (
          <span className={`badge silenced${active ? '' : ' past'}`} data-testid="silenced" title={`${silence.reason} (by ${silence.created_by})`}>
            {active ? `Silenced until ${dateTime(silence.ends_at).slice(11, 16)}` : 'Was silenced'}
          </span>
        )}
      </div>
      <p className="alert-message">{a.message}</p>
      <p className="alert-meta small">
        {a.agent_id && (
          <>
            <Link to={agentPath(a.agent_id, 'activity', Date.parse(a.first_seen_at))}>
              {agentName} at {dateTime(a.first_seen_at)}
            </Link>
            {' · '}
          </>
        )}
        first <RelativeTime iso={a.first_seen_at} />, last <RelativeTime iso={a.last_seen_at} />
        {a.acknowledged_at && ` · acknowledged by ${a.acknowledged_by ?? 'someone'} ${dateTime(a.acknowledged_at)}`}
        {a.resolved_at && ` · resolved ${dateTime(a.resolved_at)}`}
        {active && ` · notifications muted: ${silence.reason}`}
      </p>
      {canWrite && (
        <div className="row">
          {a.status === 'open' && (
            <button type="button" onClick={() => void doAck()} disabled={busy || down} title={down ? NEEDS_AMS : undefined}>
              {busy ? 'Acknowledging…' : 'Acknowledge'}
            </button>
          )}
          {a.status !== 'resolved' && !active && (
            <button type="button" onClick={silenceIt} disabled={down} title={down ? NEEDS_AMS : undefined}>
              Silence…
            </button>
          )}
        </div>
      )}
      {error !== null && <InlineError what="acknowledge" error={error} />}
    </li>
  );
}

function SilencesPanel({
  silences,
  state,
  nameOf,
  canWrite,
  down,
  retry,
}: {
  silences: Silence[];
  state: { status: string; error: unknown };
  nameOf(id: string | null): string;
  canWrite: boolean;
  down: boolean;
  retry(): void;
}) {
  const end = useConsoleStore((s) => s.endSilence);
  const now = useNow();
  const [error, setError] = useState<unknown>(null);
  const active = silences.filter((s) => silenceActive(s, now)).sort((x, y) => Date.parse(x.ends_at) - Date.parse(y.ends_at));
  const past = silences
    .filter((s) => !silenceActive(s, now))
    .sort((x, y) => Date.parse(y.ended_at ?? y.ends_at) - Date.parse(x.ended_at ?? x.ends_at))
    .slice(0, 5);
  const scope = (s: Silence) => [s.agent_id ? nameOf(s.agent_id) : 'every agent', s.rule ? `rule ${label(s.rule)}` : 'every rule'].join(' · ');
  return (
    <section className="panel silences" aria-labelledby="silences-title">
      <h2 id="silences-title">Silences</h2>
      <p className="muted small">A silenced alert is still raised and listed here; only its notifications (webhook, email, desktop) are held back.</p>
      {error !== null && <InlineError what="end the silence" error={error} />}
      {state.status === 'error' && <InlineError what="load the silences" error={state.error} retry={retry} />}
      {active.length === 0 ? (
        <p className="muted" data-testid="no-silence">
          No active silence.
        </p>
      ) : (
        <ul className="silence-list" data-testid="silences">
          {active.map((s) => (
            <li key={s.id} data-silence-id={s.id}>
              <strong>{scope(s)}</strong>
              <span className="small">
                until {dateTime(s.ends_at)} ({relativeTime(s.ends_at, now)}) · by {s.created_by}
              </span>
              <span className="small">“{s.reason}”</span>
              {canWrite && (
                <button
                  type="button"
                  className="link-button"
                  disabled={down}
                  title={down ? NEEDS_AMS : undefined}
                  onClick={() =>
                    void end(s.id)
                      .then(() => setError(null))
                      .catch(setError)
                  }
                >
                  End now
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {past.length > 0 && (
        <details>
          <summary>Recently ended ({past.length})</summary>
          <ul className="silence-list past">
            {past.map((s) => (
              <li key={s.id}>
                <span>{scope(s)}</span>
                <span className="small muted">
                  {s.ended_at ? `ended by ${s.ended_by ?? 'someone'} ${dateTime(s.ended_at)}` : `expired ${dateTime(s.ends_at)}`} · “{s.reason}”
                </span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function SilenceForm({ draft, ruleIds, agentIds, nameOf, close }: { draft: SilenceDraft; ruleIds: string[]; agentIds: string[]; nameOf(id: string | null): string; close(): void }) {
  const create = useConsoleStore((s) => s.createSilence);
  const agents = useConsoleStore((s) => s.fleet.agents);
  const down = useAmsDown();
  const fromAlert = !!(draft.agent_id || draft.rule);
  const [scope, setScope] = useState<'agent' | 'rule' | 'both'>(draft.agent_id ? 'agent' : 'rule');
  const [agentId, setAgentId] = useState(draft.agent_id);
  const [rule, setRule] = useState(draft.rule);
  const [duration, setDuration] = useState(3600);
  const [reason, setReason] = useState('');
  const [issues, setIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const agentChoices = [...new Set([...agentIds, ...agents.keys(), ...(agentId ? [agentId] : [])])].sort((x, y) => nameOf(x).localeCompare(nameOf(y)));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setIssues({});
    setError(null);
    const agent = fromAlert && scope === 'rule' ? null : agentId || null;
    const muted = fromAlert && scope === 'agent' ? null : rule || null;
    try {
      await create({ agent_id: agent, rule: muted as NewSilence['rule'], reason, duration_s: duration });
      close();
    } catch (err) {
      if (err instanceof ApiError && err.fieldIssues.length) setIssues(Object.fromEntries(err.fieldIssues.map((i) => [i.path, i.reason])));
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form silence-form" onSubmit={submit} noValidate>
      {fromAlert ? (
        <fieldset className="field">
          <legend>Mute</legend>
          {draft.agent_id && (
            <label className="radio">
              <input type="radio" name="scope" checked={scope === 'agent'} onChange={() => setScope('agent')} /> Every alert of {nameOf(draft.agent_id)}
            </label>
          )}
          {draft.rule && (
            <label className="radio">
              <input type="radio" name="scope" checked={scope === 'rule'} onChange={() => setScope('rule')} /> {label(draft.rule)} alerts of every agent
            </label>
          )}
          {draft.agent_id && draft.rule && (
            <label className="radio">
              <input type="radio" name="scope" checked={scope === 'both'} onChange={() => setScope('both')} /> {label(draft.rule)} alerts of {nameOf(draft.agent_id)} only
            </label>
          )}
        </fieldset>
      ) : (
        <>
          <label className={`field${issues.agent_id ? ' invalid' : ''}`}>
            <span>Agent</span>
            <select value={agentId} onChange={(e) => setAgentId(e.target.value)}>
              <option value="">Every agent</option>
              {agentChoices.map((id) => (
                <option key={id} value={id}>
                  {nameOf(id)}
                </option>
              ))}
            </select>
            {issues.agent_id && <small className="error-text">Agent: {issues.agent_id}</small>}
          </label>
          <label className={`field${issues.rule ? ' invalid' : ''}`}>
            <span>Rule</span>
            <select value={rule} onChange={(e) => setRule(e.target.value)}>
              <option value="">Every rule</option>
              {ruleIds.map((r) => (
                <option key={r} value={r}>
                  {label(r)}
                </option>
              ))}
            </select>
            {issues.rule && <small className="error-text">Rule: {issues.rule}</small>}
          </label>
        </>
      )}
      <label className={`field${issues.duration_s ? ' invalid' : ''}`}>
        <span>For</span>
        <select value={duration} onChange={(e) => setDuration(Number(e.target.value))}>
          {SILENCE_DURATIONS.map((d) => (
            <option key={d.s} value={d.s}>
              {d.label}
            </option>
          ))}
        </select>
        {issues.duration_s && <small className="error-text">{issues.duration_s}</small>}
      </label>
      <label className={`field${issues.reason ? ' invalid' : ''}`}>
        <span>Reason (required)</span>
        <textarea rows={2} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} aria-invalid={!!issues.reason} placeholder="e.g. planned maintenance of the sensor network" />
        {issues.reason && <small className="error-text">Reason {issues.reason}</small>}
      </label>
      <p className="muted small">It ends by itself after the time chosen; you can end it earlier from the list of silences.</p>
      {error !== null && <InlineError what="create the silence" error={error} />}
      <div className="dialog-actions">
        <button type="button" onClick={close} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy || down || !reason.trim()} title={down ? NEEDS_AMS : !reason.trim() ? 'Say why the alerts are muted' : undefined}>
          {busy ? 'Silencing…' : 'Silence'}
        </button>
      </div>
    </form>
  );
}

