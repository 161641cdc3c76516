// The status timeline: every transition in the range, newest first, with its cause. The row
// in effect at the chart cursor is highlighted; hovering a row moves the charts' cursor; a
// row's time zooms the range around it.
import { useEffect, useMemo, useRef } from 'react';
import type { Agent, Page, StatusHistoryEntry } from '../../api/types';
import type { Loadable } from '../../store/loadable';
import { useConsoleStore } from '../../store/context';
import { Badge } from '../common/badges';
import { dateTime, timeOfDay } from '../common/format';
import { AsyncView, Empty } from '../common/states';
import { describeTransition, isProcessTransition, rowAt, stderrTailOf } from './timeline';

const badgeKind = (e: StatusHistoryEntry) => (e.event_type.startsWith('health_') ? 'health' : e.event_type.startsWith('recovery_') ? 'recovery' : 'process');

export function TimelineList({ agent, state, reload, rangeText }: { agent: Agent; state: Loadable<Page<StatusHistoryEntry>>; reload(): void; rangeText: string }) {
  const cursor = useConsoleStore((s) => s.cursor);
  const setCursor = useConsoleStore((s) => s.setCursor);
  const zoomTo = useConsoleStore((s) => s.zoomTo);
  const selected = useConsoleStore((s) => s.selectedEvent);
  const selectEvent = useConsoleStore((s) => s.selectEvent);
  const list = useRef<HTMLOListElement>(null);
  const rows = state.data?.items;
  // Picked from a chart marker: bring the row into view.
  useEffect(() => {
    if (selected === null) return;
    const row = list.current?.querySelector<HTMLElement>(`[data-id="${selected}"]`);
    row?.scrollIntoView({ block: 'nearest' });
    row?.focus();
  }, [selected, rows]);
  const active = useMemo(() => (rows && cursor.t !== null && cursor.source === 'chart' ? rowAt(rows, cursor.t) : -1), [rows, cursor]);
  return (
    <section className="panel timeline" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Status timeline</h2>
      <p className="muted small">{rangeText}</p>
      <AsyncView state={state} what="the status history" retry={reload}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty title="No transition in this range">
              {agent.status === 'registered' ? 'The agent has not been started yet.' : 'Pick a longer range to see earlier transitions.'}
            </Empty>
          ) : (
            <ol ref={list} className="timeline-list" data-testid="timeline" onMouseLeave={() => setCursor(null, 'timeline')}>
              {page.items.map((e, i) => {
                const t = Date.parse(e.created_at) / 1000;
                return (
                  <li
                    key={e.id}
                    className={`timeline-row${i === active ? ' active' : ''}${e.id === selected ? ' selected' : ''}${isProcessTransition(e) ? '' : ' secondary'}`}
                    data-event-type={e.event_type}
                    data-id={e.id}
                    tabIndex={-1}
                    aria-current={e.id === selected ? 'true' : undefined}
                    onClick={() => selectEvent(e.id)}
                    onMouseEnter={() => setCursor(t, 'timeline')}
                    onFocus={() => setCursor(t, 'timeline')}
                  >
                    <button type="button" className="timeline-time link-button" title={`Zoom to ${dateTime(e.created_at)} ± 5 min`} onClick={() => zoomTo(t - 300, t + 300)}>
                      {timeOfDay(e.created_at)}
                    </button>
                    <span className="timeline-states">
                      {e.from_status && <Badge kind={badgeKind(e)} value={e.from_status} />}
                      {e.from_status && e.to_status && <span aria-hidden="true"> → </span>}
                      {e.to_status && <Badge kind={badgeKind(e)} value={e.to_status} />}
                    </span>
                    <span className="timeline-cause">{describeTransition(e)}</span>
                    {stderrTailOf(e.details).length > 0 && <StderrTail lines={stderrTailOf(e.details)} />}
                  </li>
                );
              })}
            </ol>
          )
        }
      </AsyncView>
    </section>
  );
}

/** What the process wrote on stderr before it ended, folded under its exit row. */
function StderrTail({ lines }: { lines: string[] }) {
  return (
    <details className="timeline-stderr" data-testid="timeline-stderr">
      <summary>stderr ({lines.length === 1 ? '1 line' : `${lines.length} lines`})</summary>
      <pre className="code stderr-lines">{lines.join('\n')}</pre>
    </details>
  );
}
