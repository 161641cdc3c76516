// The agent's logs, newest first: where each line came from (stdout, stderr, or the agent's
// messages via the broker), minimum level, search, a time range, export of the filtered lines,
// and follow mode (new lines from the live stream appear on top; paused, they are counted).
import { useEffect, useMemo, useState } from 'react';
import type { Agent, LogEntry } from '../../api/types';
import { useConsole, useLiveEvents } from '../../store/context';
import { dateTime, plural } from '../common/format';
import { AsyncView, Empty, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { downloadText, fileStamp } from '../common/download';
import { NEEDS_AMS, useAmsDown } from '../common/link';
import { LOG_LEVELS, LOG_RANGES, lineMatches, logLineText, rangeBounds, sourceLabel } from './log-filter';

const PAGE = 200;
const KEPT = 2000;
/** The most lines one export holds (newest first). */
export const EXPORT_MAX = 50_000;

/** A datetime-local value as ISO 8601 ('' stays ''). */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');

export function LogsPanel({ agent }: { agent: Agent }) {
  const { client } = useConsole();
  const down = useAmsDown();
  const [level, setLevel] = useState('');
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [range, setRange] = useState('all');
  const [custom, setCustom] = useState({ since: '', until: '' });
  const [follow, setFollow] = useState(true);
  const [held, setHeld] = useState<LogEntry[]>([]);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const [exporting, setExporting] = useState<{ busy: string | null; error: unknown; done: string | null }>({ busy: null, error: null, done: null });

  useEffect(() => {
    const t = setTimeout(() => setQ(text), 300);
    return () => clearTimeout(t);
  }, [text]);

  // The range's bounds are fixed when the filter changes (a "last hour" list does not slide).
  const bounds = useMemo(() => rangeBounds(range, Date.now(), { since: toIso(custom.since), until: toIso(custom.until) }), [range, custom.since, custom.until]);
  const query = { level: level || undefined, q: q || undefined, ...bounds };
  const logs = useResource(() => client.logs.list(agent.id, { ...query, limit: PAGE }), [client, agent.id, level, q, bounds]);
  // Held lines the new filter no longer keeps go; the others stay held.
  useEffect(() => setHeld((h) => h.filter((l) => lineMatches(l, { level, q, ...bounds }))), [level, q, bounds]);

  useLiveEvents(
    (events) => {
      const lines: LogEntry[] = [];
      for (const e of events) {
        if (e.type !== 'log.line' || e.agent_id !== agent.id) continue;
        // Live lines have no row id yet: the negated event id keeps keys apart from stored rows.
        const line: LogEntry = { id: -e.id, agent_id: e.agent_id, level: e.level, message: e.message, context: e.context ?? null, source: e.source, timestamp: e.timestamp };
        if (lineMatches(line, { level, q, ...bounds })) lines.push(line);
      }
      if (lines.length === 0) return;
      lines.reverse();
      if (follow) logs.set((prev) => ({ items: [...lines, ...(prev?.items ?? [])].slice(0, KEPT), next_cursor: prev?.next_cursor ?? null }));
      else setHeld((h) => [...lines, ...h].slice(0, KEPT));
    },
    () => void logs.reload(),
  );

  const showHeld = () => {
    logs.set((prev) => ({ items: [...held, ...(prev?.items ?? [])].slice(0, KEPT), next_cursor: prev?.next_cursor ?? null }));
    setHeld([]);
  };
  const loadMore = async (cursor: string) => {
    setMore({ busy: true, error: null });
    try {
      const page = await client.logs.list(agent.id, { ...query, limit: PAGE, cursor });
      logs.set((prev) => ({ items: [...(prev?.items ?? []), ...page.items], next_cursor: page.next_cursor }));
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  };
  const exportAs = async (format: 'log' | 'ndjson') => {
    setExporting({ busy: format, error: null, done: null });
    try {
      const { lines, truncated } = await client.logs.all(agent.id, query, EXPORT_MAX);
      const body = format === 'log' ? lines.map(logLineText).join('\n') : lines.map((l) => JSON.stringify(l)).join('\n');
      downloadText(`${body}\n`, `${agent.agent_name}-logs-${fileStamp()}.${format}`, format === 'log' ? 'text/plain' : 'application/x-ndjson');
      setExporting({ busy: null, error: null, done: `Exported ${plural(lines.length, 'line')}${truncated ? ` (the newest ${EXPORT_MAX.toLocaleString('en-US')}; narrow the range for older ones)` : ''}.` });
    } catch (error) {
      setExporting({ busy: null, error, done: null });
    }
  };
  const filtered = !!(level || q || range !== 'all');

  return (
    <section className="panel logs" aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div className="toolbar" role="search">
        <label className="field">
          <span>Level</span>
          <select aria-label="Level" value={level} onChange={(e) => setLevel(e.target.value)}>
            <option value="">All levels</option>
            {LOG_LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Time</span>
          <select aria-label="Time range" value={range} onChange={(e) => setRange(e.target.value)}>
            {LOG_RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        {range === 'custom' && (
          <>
            <label className="field">
              <span>From</span>
              <input type="datetime-local" value={custom.since} onChange={(e) => setCustom({ ...custom, since: e.target.value })} />
            </label>
            <label className="field">
              <span>To</span>
              <input type="datetime-local" value={custom.until} onChange={(e) => setCustom({ ...custom, until: e.target.value })} />
            </label>
          </>
        )}
        <label className="field grow">
          <span>Search</span>
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Text in the message" />
        </label>
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => (setFollow(e.target.checked), e.target.checked && showHeld())} data-testid="follow" /> Follow new lines
        </label>
      </div>
      <div className="row export-row">
        <span className="muted small">{filtered ? 'Export the lines these filters keep:' : 'Export every line:'}</span>
        <button type="button" onClick={() => void exportAs('log')} disabled={!!exporting.busy || down} title={down ? NEEDS_AMS : undefined}>
          {exporting.busy === 'log' ? 'Exporting…' : 'Export .log'}
        </button>
        <button type="button" onClick={() => void exportAs('ndjson')} disabled={!!exporting.busy || down} title={down ? NEEDS_AMS : undefined}>
          {exporting.busy === 'ndjson' ? 'Exporting…' : 'Export NDJSON'}
        </button>
        {exporting.done && (
          <span role="status" className="ok-text small" data-testid="logs-exported">
            {exporting.done}
          </span>
        )}
      </div>
      {exporting.error !== null && <InlineError what="export the logs" error={exporting.error} />}
      {!follow && held.length > 0 && (
        <button type="button" className="new-lines" onClick={() => (showHeld(), setFollow(true))}>
          {held.length} new line{held.length === 1 ? '' : 's'} — show and follow
        </button>
      )}
      <AsyncView state={logs.state} what="the logs" retry={() => void logs.reload()}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty title={filtered ? 'No line matches' : 'No log line yet'}>
              {filtered ? 'Try a lower level, a longer time range or other words.' : 'Lines the agent sends appear here as they arrive; start the agent if it is not running.'}
            </Empty>
          ) : (
            <>
              <ol className="log-list" data-testid="log-list" aria-live={follow ? 'polite' : 'off'} aria-relevant="additions">
                {page.items.map((l) => (
                  <li key={l.id} className={`log-line level-${l.level.toLowerCase()} source-${l.source ?? 'unknown'}`}>
                    <time dateTime={l.timestamp}>{dateTime(l.timestamp)}</time>
                    <span className="log-level">{l.level}</span>
                    <span className="log-source" title={l.source === 'nats' ? 'Sent by the agent over NATS (via the broker)' : l.source ? `Captured from the process's ${l.source}` : undefined}>
                      {sourceLabel(l.source)}
                    </span>
                    <span className="log-message">{l.message}</span>
                    {l.context && Object.keys(l.context).length > 0 && <code className="log-context">{JSON.stringify(l.context)}</code>}
                  </li>
                ))}
              </ol>
              {more.error !== null && <InlineError what="load older lines" error={more.error} />}
              {page.next_cursor && (
                <button type="button" onClick={() => void loadMore(page.next_cursor!)} disabled={more.busy}>
                  {more.busy ? 'Loading…' : 'Older lines'}
                </button>
              )}
            </>
          )
        }
      </AsyncView>
    </section>
  );
}
