// Configuration: the effective config with each key's source, an editor of the agent's own
// settings with the AMS's validation errors inline, the version history with a diff between
// any two versions, and rollback.
import { useMemo, useState } from 'react';
import type { Agent, ConfigVersion, EffectiveConfig } from '../../api/types';
import { ApiError } from '../../api/errors';
import { useConsole, useConsoleStore, useLiveEvents } from '../../store/context';
import { ConfirmDialog } from '../common/dialog';
import { dateTime } from '../common/format';
import { AsyncView, Empty, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { diffConfigs, diffSummary, formatValue, parseConfigText } from './diff';
import { ColumnHeads } from '../common/column-heads';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { historyApplyText, saveText, type SaveResult } from './apply-text';

interface ConfigData {
  effective: EffectiveConfig;
  versions: ConfigVersion[];
  /** The stored version the running process has (null when none runs, or an older AMS). */
  runningVersion: number | null;
}

export function ConfigPanel({ agent }: { agent: Agent }) {
  const { client } = useConsole();
  const data = useResource<ConfigData>(async () => {
    const [effective, history, status] = await Promise.all([
      client.config.effective(agent.id),
      client.config.history(agent.id),
      client.agents.status(agent.id).catch(() => null),
    ]);
    return { effective, versions: history.items, runningVersion: status?.config_version ?? null };
  }, [client, agent.id]);
  useLiveEvents(
    (events) => {
      if (events.some((e) => e.agent_id === agent.id && (e.type.startsWith('config.') || (e.type === 'status.changed' && e.event_type === 'process_started')))) void data.reload();
    },
    () => void data.reload(),
  );
  return (
    <AsyncView state={data.state} what="the configuration" retry={() => void data.reload()}>
      {(d) => (
        <div className="config">
          <div className="columns">
            <EffectiveTable effective={d.effective} agent={agent} runningVersion={d.runningVersion} />
            <Editor
              agent={agent}
              current={d.versions.find((v) => v.version === d.effective.version) ?? d.versions[0] ?? null}
              newest={d.versions[0]?.version ?? null}
              onSaved={() => void data.reload()}
            />
          </div>
          <History agent={agent} versions={d.versions} current={d.effective.version} onRolledBack={() => void data.reload()} />
        </div>
      )}
    </AsyncView>
  );
}

function EffectiveTable({ effective, agent, runningVersion }: { effective: EffectiveConfig; agent: Agent; runningVersion: number | null }) {
  const keys = Object.keys(effective.effective).sort();
  const up = agent.status === 'running' || agent.status === 'degraded';
  return (
    <section className="panel" aria-labelledby="effective-title">
      <h2 id="effective-title">Effective configuration</h2>
      <p className="muted small" data-testid="config-version">
        Agent settings version {effective.version} · fleet settings version {effective.fleet_version}. Each key comes from the first of: the agent's own
        settings, the fleet settings, the AMS environment, the defaults.
      </p>
      <p className="small" data-testid="config-in-force">
        {up
          ? runningVersion !== null
            ? runningVersion === 0
              ? `The running process${agent.pid ? ` (pid ${agent.pid})` : ''} runs on the fleet settings and defaults (no version of its own)${effective.version > 0 ? `, not version ${effective.version}: it did not apply that one` : ''}.`
              : `The running process${agent.pid ? ` (pid ${agent.pid})` : ''} runs version ${runningVersion}${runningVersion !== effective.version ? ` — not the newest (${effective.version}): it did not apply that one` : ''}.`
            : `The running process${agent.pid ? ` (pid ${agent.pid})` : ''} runs the configuration it started with.`
          : `The agent is ${agent.status}: version ${effective.version} is used at its next start.`}
      </p>
      <table className="list-table config-table" data-testid="effective-config">
        <ColumnHeads columns={['Key', 'Value', 'Source']} />
        <tbody>
          {keys.map((k) => (
            <tr key={k} data-key={k}>
              <th scope="row">
                <code>{k}</code>
              </th>
              <td className="value">
                <code>{formatValue(effective.effective[k].value)}</code>
              </td>
              <td>
                <span className={`source source-${effective.effective[k].source}`} data-testid={`source-${k}`}>
                  {effective.effective[k].source}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Editor({ agent, current, newest, onSaved }: { agent: Agent; current: ConfigVersion | null; newest: number | null; onSaved(): void }) {
  const { client } = useConsole();
  const canWrite = useConsoleStore((s) => s.can('config:write'));
  const initial = JSON.stringify(current?.config ?? {}, null, 2);
  const [text, setText] = useState(initial);
  const [base, setBase] = useState(initial);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [issues, setIssues] = useState<Array<{ path: string; reason: string }>>([]);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<SaveResult | null>(null);
  const down = useAmsDown();
  if (initial !== base) {
    // A new version arrived (saved here, rolled back, or changed elsewhere): show it unless the user is editing.
    setBase(initial);
    if (text === base) setText(initial);
  }
  const parsed = parseConfigText(text);
  const save = async () => {
    if (!parsed.ok) return;
    setBusy(true);
    setIssues([]);
    setError(null);
    setResult(null);
    try {
      const process = { pid: agent.pid, startTime: agent.start_time };
      const answer = await client.config.put(agent.id, parsed.value, reason || undefined);
      setResult({ version: answer.version, apply: answer.apply, process });
      setReason('');
      onSaved();
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.fieldIssues.length) setIssues(err.fieldIssues);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="editor-title">
      <h2 id="editor-title">The agent's own settings</h2>
      <p className="muted small">
        A JSON object. Saving stores it as a new version{current ? ` (now version ${current.version})` : ''} and sends the new effective configuration to
        the agent if it is running.
      </p>
      <label className="field">
        <span className="sr-only">Agent settings (JSON)</span>
        <textarea
          className={`code${!parsed.ok || issues.length ? ' invalid' : ''}`}
          rows={10}
          value={text}
          onChange={(e) => (setText(e.target.value), setIssues([]), setResult(null))}
          spellCheck={false}
          readOnly={!canWrite}
          aria-invalid={!parsed.ok || issues.length > 0}
          aria-describedby="config-errors"
          data-testid="config-editor"
        />
      </label>
      <div id="config-errors" aria-live="polite">
        {!parsed.ok && (
          <p className="error-text" data-testid="config-parse-error">
            Not valid JSON{parsed.line ? ` at line ${parsed.line}, column ${parsed.column}` : ''}: {parsed.message}
          </p>
        )}
        {issues.length > 0 && (
          <ul className="error-list" data-testid="config-issues">
            {issues.map((i) => (
              <li key={`${i.path}:${i.reason}`}>
                <code>{i.path.replace(/^config\./, '') || '(whole object)'}</code> {i.reason}
              </li>
            ))}
          </ul>
        )}
      </div>
      {canWrite ? (
        <div className="row">
          <label className="field grow">
            <span>Reason (optional)</span>
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} />
          </label>
          <button type="button" className="primary" disabled={!parsed.ok || busy || text === initial || down} title={down ? NEEDS_AMS : undefined} onClick={() => void save()}>
            {busy ? 'Saving…' : 'Save as new version'}
          </button>
        </div>
      ) : (
        <p className="muted">Editing needs the config:write permission.</p>
      )}
      {error !== null && <InlineError what="save the configuration" error={error} />}
      {result && (
        <p role="status" className={result.apply?.status === 'rejected' ? 'error-text' : 'ok-text'} data-testid="config-saved" data-version={result.version}>
          {saveText(result, agent, newest)}
        </p>
      )}
    </section>
  );
}

function History({ agent, versions, current, onRolledBack }: { agent: Agent; versions: ConfigVersion[]; current: number; onRolledBack(): void }) {
  const { client } = useConsole();
  const canWrite = useConsoleStore((s) => s.can('config:write'));
  // Until the user picks, compare the two newest versions (following new ones as they come).
  const [pickedA, setA] = useState<number | null>(null);
  const [pickedB, setB] = useState<number | null>(null);
  const a = pickedA ?? versions[1]?.version ?? null;
  const b = pickedB ?? versions[0]?.version ?? null;
  const [rollback, setRollback] = useState<ConfigVersion | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ result: SaveResult; from: number } | null>(null);
  const down = useAmsDown();
  const newest = versions[0]?.version ?? null;
  const va = versions.find((v) => v.version === a);
  const vb = versions.find((v) => v.version === b);
  const diff = useMemo(() => (va && vb ? diffConfigs(va.config, vb.config) : []), [va, vb]);
  const doRollback = async () => {
    if (!rollback) return;
    setBusy(true);
    setError(null);
    try {
      const process = { pid: agent.pid, startTime: agent.start_time };
      const answer = await client.config.rollback(agent.id, rollback.version, `rollback to version ${rollback.version}`);
      setDone({ result: { version: answer.version, apply: answer.apply, process }, from: rollback.version });
      onRolledBack();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setRollback(null);
    }
  };
  if (versions.length === 0)
    return (
      <section className="panel" aria-labelledby="history-title">
        <h2 id="history-title">Version history</h2>
        <Empty title="No stored version yet">The agent runs on the fleet settings and defaults. Save settings above to create version 1.</Empty>
      </section>
    );
  return (
    <section className="panel" aria-labelledby="history-title">
      <h2 id="history-title">Version history</h2>
      {done && (
        <p role="status" className="ok-text" data-testid="rollback-done">
          The settings of version {done.from} are current again. {saveText(done.result, agent, newest)}
        </p>
      )}
      {error !== null && <InlineError what="roll back" error={error} />}
      <div className="history">
        <table className="list-table" data-testid="config-history">
          <ColumnHeads columns={['Version', 'When', 'Author', 'Reason', 'On the agent', 'Compare']} actions />
          <tbody>
            {versions.map((v) => (
              <tr key={v.version} className={v.version === current ? 'current' : undefined}>
                <td>
                  {v.version}
                  {v.version === current && <span className="badge small">current</span>}
                </td>
                <td className="nowrap">{dateTime(v.created_at)}</td>
                <td>{v.author}</td>
                <td className="ellipsis">{v.reason ?? '—'}</td>
                <td className={v.apply_status === 'rejected' ? 'error-text' : undefined} title={v.apply_error ?? undefined} data-testid={`apply-${v.version}`}>
                  {historyApplyText(v, agent)}
                </td>
                <td className="compare">
                  <label>
                    <input type="radio" name="diff-a" checked={a === v.version} onChange={() => setA(v.version)} /> A
                  </label>
                  <label>
                    <input type="radio" name="diff-b" checked={b === v.version} onChange={() => setB(v.version)} /> B
                  </label>
                </td>
                <td>
                  {canWrite && v.version !== current && (
                    <button type="button" onClick={() => setRollback(v)} disabled={down} title={down ? NEEDS_AMS : undefined}>
                      Roll back to {v.version}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="diff" data-testid="config-diff">
          <h3>
            {va && vb ? `Version ${va.version} → ${vb.version}: ${diffSummary(diff)}` : 'Pick two versions (A and B) to compare'}
          </h3>
          {va && vb && (
            <table className="list-table">
              <ColumnHeads columns={['Key', `A (v${va.version})`, `B (v${vb.version})`]} />
              <tbody>
                {diff.map((d) => (
                  <tr key={d.key} className={`diff-${d.kind}`} data-kind={d.kind}>
                    <th scope="row">
                      <code>{d.key}</code> <span className="sr-only">{d.kind}</span>
                    </th>
                    <td>
                      <code>{formatValue(d.before)}</code>
                    </td>
                    <td>
                      <code>{formatValue(d.after)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <ConfirmDialog
        open={rollback !== null}
        title={`Roll back to version ${rollback?.version}?`}
        confirmLabel="Roll back"
        busy={busy}
        disabled={down}
        disabledReason={NEEDS_AMS}
        onConfirm={() => void doRollback()}
        onCancel={() => setRollback(null)}
      >
        <p>The settings of version {rollback?.version} become current as a new version, and a running agent is sent the result.</p>
      </ConfirmDialog>
    </section>
  );
}
