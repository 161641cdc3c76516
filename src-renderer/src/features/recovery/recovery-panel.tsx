// Recovery controls: whether the agent can be recovered, a recovery in progress, the last
// attempts, the remaining budget, a countdown to the next attempt, a manual trigger (disabled
// while one runs) and the policy editor with validation.
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { Agent, RecoveryPolicy, RecoveryState } from '../../api/types';
import { ApiError, describeError } from '../../api/errors';
import { useConsole, useConsoleStore, useLiveEvents } from '../../store/context';
import { Badge } from '../common/badges';
import { dateTime, label, relativeTime, seconds } from '../common/format';
import { useNow } from '../common/use-now';
import { AsyncView, Empty, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { delayBefore, draftFromPolicy, issuesByField, parsePolicy, POLICY_FIELDS, type PolicyDraft } from './policy-form';
import { ColumnHeads } from '../common/column-heads';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { latestAttempt, recoveryPhase } from './recovery-state';

export function RecoveryPanel({ agent }: { agent: Agent }) {
  const { client } = useConsole();
  const recovery = useResource(() => client.recovery.get(agent.id), [client, agent.id]);
  useLiveEvents(
    (events) => {
      if (events.some((e) => e.agent_id === agent.id && (e.type.startsWith('recovery.') || e.type === 'status.changed'))) void recovery.reload();
    },
    () => void recovery.reload(),
  );
  return (
    <AsyncView state={recovery.state} what="the recovery state" retry={() => void recovery.reload()}>
      {(r) => (
        <div className="columns">
          <RecoveryStatusCard agent={agent} r={r} onChange={(next) => (next ? recovery.set(next) : void recovery.reload())} />
          <PolicyEditor agent={agent} policy={r.policy} onSaved={(policy) => recovery.set({ ...r, policy })} />
        </div>
      )}
    </AsyncView>
  );
}

function RecoveryStatusCard({ agent, r, onChange }: { agent: Agent; r: RecoveryState; onChange(next: RecoveryState | null): void }) {
  const { client } = useConsole();
  const canTrigger = useConsoleStore((s) => s.can('recovery:trigger'));
  const now = useNow();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const down = useAmsDown();
  const { phase, text } = recoveryPhase(r, agent, now);
  const running = phase === 'recovering' || phase === 'waiting';
  const trigger = async () => {
    setBusy(true);
    setError(null);
    try {
      const answer = await client.recovery.trigger(agent.id);
      onChange(answer && typeof answer === 'object' && 'in_progress' in answer ? answer : null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const last = latestAttempt(r.attempts);
  const nextAt = r.next_attempt_at ? Date.parse(r.next_attempt_at) : null;
  const newestFirst = [...r.attempts].sort((x, y) => Date.parse(y.started_at) - Date.parse(x.started_at) || y.attempt_number - x.attempt_number);
  return (
    <section className="panel" aria-labelledby="recovery-title">
      <h2 id="recovery-title">Recovery</h2>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <Badge kind="recovery" value={r.recovery_status} />
          {running && <span className="spinner inline" aria-hidden="true" />}
        </dd>
        <dt>Now</dt>
        <dd data-testid="recovery-state" data-phase={phase}>
          {text}
        </dd>
        <dt>Remaining budget</dt>
        <dd data-testid="recovery-remaining">
          {r.remaining} of {r.policy.max_retries} attempt{r.policy.max_retries === 1 ? '' : 's'}
        </dd>
        <dt>Next attempt</dt>
        <dd data-testid="next-attempt">{nextAt ? `${relativeTime(nextAt, now)} (${dateTime(nextAt)})` : 'none scheduled'}</dd>
        <dt>Latest attempt</dt>
        <dd data-testid="last-attempt">
          {last ? `#${last.attempt_number} ${label(last.recovery_strategy)}, ${last.status} ${relativeTime(last.started_at, now)}${last.error ? `: ${last.error}` : ''}` : 'never'}
        </dd>
        {r.trigger && (
          <>
            <dt>Cause</dt>
            <dd>{label(r.trigger)}</dd>
          </>
        )}
        <dt>History</dt>
        <dd>
          {r.stats.attempts === 0
            ? 'no finished recovery yet'
            : `${r.stats.succeeded} of ${r.stats.recoveries} recoveries succeeded${r.stats.mean_time_to_recover_s !== null ? `, ${seconds(r.stats.mean_time_to_recover_s)} to recover on average` : ''}`}
        </dd>
      </dl>
      {canTrigger ? (
        <button
          type="button"
          className="primary"
          onClick={() => void trigger()}
          disabled={busy || running || down || phase === 'unavailable'}
          title={down ? NEEDS_AMS : running ? 'A recovery is running; it says above when its next attempt is due' : undefined}
          data-testid="trigger-recovery"
        >
          {running ? 'Recovery in progress…' : busy ? 'Starting…' : 'Recover now'}
        </button>
      ) : (
        <p className="muted">Triggering a recovery needs the recovery:trigger permission.</p>
      )}
      {error !== null && (
        <p className="inline-error" role="alert">
          Could not start a recovery: {describeError(error)}
        </p>
      )}
      <h3>Attempts</h3>
      {r.attempts.length === 0 ? (
        <Empty title="No recovery attempt yet">When the agent fails, the AMS recovers it per the policy; “Recover now” starts one by hand.</Empty>
      ) : (
        <table className="list-table" data-testid="recovery-attempts">
          <ColumnHeads columns={['#', 'Started', 'Strategy', 'Trigger', 'Result']} />
          <tbody>
            {newestFirst.map((a) => (
              <tr key={`${a.attempt_number}-${a.started_at}`}>
                <td>{a.attempt_number}</td>
                <td className="nowrap">{dateTime(a.started_at)}</td>
                <td>{label(a.recovery_strategy)}</td>
                <td>{a.trigger ? label(a.trigger) : '—'}</td>
                <td className={a.error ? 'error-text' : undefined}>
                  {label(a.status)}
                  {a.error ? `: ${a.error}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PolicyEditor({ agent, policy, onSaved }: { agent: Agent; policy: RecoveryPolicy; onSaved(p: RecoveryPolicy): void }) {
  const { client } = useConsole();
  const canEdit = useConsoleStore((s) => s.can('agents:control'));
  const stored = useResource(() => client.recovery.policy(agent.id), [client, agent.id, policy]);
  const [draft, setDraft] = useState<PolicyDraft>(() => draftFromPolicy(policy));
  const [serverIssues, setServerIssues] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const down = useAmsDown();
  const parsed = parsePolicy(draft);
  const local = issuesByField(parsed.issues);
  const issues = { ...serverIssues, ...local };
  const dirty = JSON.stringify(draft) !== JSON.stringify(draftFromPolicy(policy));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!parsed.policy) return;
    setBusy(true);
    setError(null);
    setServerIssues({});
    setSaved(false);
    try {
      const answer = await client.recovery.putPolicy(agent.id, parsed.policy);
      onSaved(answer && typeof answer === 'object' && 'max_retries' in answer ? answer : parsed.policy);
      setSaved(true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.fieldIssues.length) setServerIssues(issuesByField(err.fieldIssues));
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  const set = (patch: Partial<PolicyDraft>) => {
    setSaved(false);
    setDraft({ ...draft, ...patch });
  };

  return (
    <section className="panel" aria-labelledby="policy-title">
      <h2 id="policy-title">Recovery policy</h2>
      {stored.state.data && (
        <p className="muted small" data-testid="policy-source">
          {stored.state.data.source === 'default'
            ? 'The AMS defaults: this agent has no policy of its own.'
            : `This agent's own policy${stored.state.data.updated_by ? `, set by ${stored.state.data.updated_by}` : ''}${stored.state.data.updated_at ? ` ${dateTime(stored.state.data.updated_at)}` : ''}.`}
        </p>
      )}
      <form className="form policy" onSubmit={submit} noValidate>
        <fieldset disabled={!canEdit || busy}>
          <label className="check">
            <input type="checkbox" checked={draft.auto_recovery} onChange={(e) => set({ auto_recovery: e.target.checked })} /> Recover automatically when the agent fails
          </label>
          {POLICY_FIELDS.map((f) => (
            <label key={f.key} className={`field${issues[f.key] ? ' invalid' : ''}`}>
              <span>{f.label}</span>
              <input
                name={f.key}
                value={draft[f.key]}
                inputMode={f.key === 'notification_channels' ? 'text' : 'decimal'}
                onChange={(e) => set({ [f.key]: e.target.value } as Partial<PolicyDraft>)}
                aria-invalid={!!issues[f.key]}
                aria-describedby={`${f.key}-hint`}
              />
              <small id={`${f.key}-hint`} className={issues[f.key] ? 'error-text' : 'muted'}>
                {issues[f.key] ? `${f.label} ${issues[f.key]}` : f.hint}
              </small>
            </label>
          ))}
          {serverIssues[''] && <p className="inline-error">{serverIssues['']}</p>}
          {parsed.policy && (
            <p className="muted small" data-testid="policy-delays">
              Delays: {Array.from({ length: Math.min(parsed.policy.max_retries, 6) }, (_, i) => seconds(delayBefore(parsed.policy!, i + 1))).join(', ') || 'none (no retries)'}
            </p>
          )}
          <div className="row">
            <button type="submit" className="primary" disabled={!dirty || !parsed.policy || down} title={down ? NEEDS_AMS : undefined}>
              Save policy
            </button>
            <button type="button" disabled={!dirty} onClick={() => (setDraft(draftFromPolicy(policy)), setServerIssues({}))}>
              Discard changes
            </button>
            {saved && (
              <span role="status" className="ok-text">
                Saved.
              </span>
            )}
          </div>
        </fieldset>
        {!canEdit && <p className="muted">Changing the policy needs the agents:control permission.</p>}
        {error !== null && <InlineError what="save the policy" error={error} />}
      </form>
    </section>
  );
}
