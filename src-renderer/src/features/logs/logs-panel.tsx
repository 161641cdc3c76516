// The agent's logs, newest first: level filter, search, and follow mode (new lines from the
// live stream appear on top; paused, they are counted until shown).
import { useEffect, useState } from 'react';
import type { Agent, LogEntry } from '../../api/types';
import { useConsole, useLiveEvents } from '../../store/context';
import { dateTime } from '../common/format';
import { AsyncView, Empty, InlineError } from '../common/states';
import { useResource } from '../common/use-resource';
import { LOG_LEVELS, lineMatches } from './log-filter';

const PAGE = 200;
const KEPT = 2000;

export function LogsPanel({ agent }: { agent: Agent }) {
  const { client } = useConsole();
  const [level, setLevel] = useState('');
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const [follow, setFollow] = useState(true);
  const [held, setHeld] = useState<LogEntry[]>([]);
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });

  useEffect(() => {
    const t = setTimeout(() => setQ(text), 300);
    return () => clearTimeout(t);
  }, [text]);

  const logs = useResource(() => client.logs.list(agent.id, { level: level || undefined, q: q || undefined, limit: PAGE }), [client, agent.id, level, q]);
  useEffect(() => setHeld([]), [level, q]);

  useLiveEvents(
    (events) => {
      const lines: LogEntry[] = [];
      for (const e of events) {
        if (e.type !== 'log.line' || e.agent_id !== agent.id) continue;
        // Live lines have no row id yet: the negated event id keeps keys apart from stored rows.
        const line: LogEntry = { id: -e.id, agent_id: e.agent_id, level: e.level, message: e.message, context: e.context ?? null, source: e.source, timestamp: e.timestamp };
        if (lineMatches(line, { level, q })) lines.push(line);
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
      const page = await client.logs.list(agent.id, { level: level || undefined, q: q || undefined, limit: PAGE, cursor });
      logs.set((prev) => ({ items: [...(prev?.items ?? []), ...page.items], next_cursor: page.next_cursor }));
      setMore({ busy: false, error: null });
    } catch (error) {
      setMore({ busy: false, error });
    }
  };

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
        <label className="field grow">
          <span>Search</span>
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="Text in the message" />
        </label>
        <label className="check">
          <input type="checkbox" checked={follow} onChange={(e) => (setFollow(e.target.checked), e.target.checked && showHeld())} data-testid="follow" /> Follow new lines
        </label>
      </div>
      {!follow && held.length > 0 && (
        <button type="button" className="new-lines" onClick={() => (showHeld(), setFollow(true))}>
          {held.length} new line{held.length === 1 ? '' : 's'} — show and follow
        </button>
      )}
      <AsyncView state={logs.state} what="the logs" retry={() => void logs.reload()}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty title={level || q ? 'No line matches' : 'No log line yet'}>
              {level || q ? 'Try a lower level or other words.' : 'Lines the agent sends appear here as they arrive; start the agent if it is not running.'}
            </Empty>
          ) : (
            <>
              <ol className="log-list" data-testid="log-list" aria-live={follow ? 'polite' : 'off'} aria-relevant="additions">
                {page.items.map((l) => (
                  <li key={l.id} className={`log-line level-${l.level.toLowerCase()}`}>
                    <time dateTime={l.timestamp}>{dateTime(l.timestamp)}</time>
                    <span className="log-level">{l.level}</span>
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
