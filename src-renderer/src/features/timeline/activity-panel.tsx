// Timeline and metrics together: one time range (presets or a zoomed span) and one cursor
// shared by the status timeline and the metrics charts.
import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Agent, StatusHistoryEntry } from '../../api/types';
import { useConsole, useConsoleStore, useLiveEvents } from '../../store/context';
import { RANGE_PRESETS, windowBounds, type RangePreset } from '../../store/agent-view-slice';
import { useResource } from '../common/use-resource';
import { dateTime } from '../common/format';
import { MetricCharts, METRIC_NAMES } from '../metrics/metric-charts';
import { TimelineList } from './timeline-list';

export function ActivityPanel({ agent, at }: { agent: Agent; at: number | null }) {
  const { client } = useConsole();
  const { timeWindow, setPreset, resetZoom, zoomTo } = useConsoleStore(
    useShallow((s) => ({ timeWindow: s.timeWindow, setPreset: s.setPreset, resetZoom: s.resetZoom, zoomTo: s.zoomTo })),
  );

  // Opened from an alert: center the range on its moment.
  useEffect(() => {
    if (at) zoomTo(at / 1000 - 15 * 60, at / 1000 + 15 * 60);
  }, [at, zoomTo]);

  const key = `${timeWindow.preset}:${timeWindow.zoom?.from ?? ''}:${timeWindow.zoom?.to ?? ''}`;
  const history = useResource(async () => {
    const b = windowBounds(timeWindow, Date.now() / 1000);
    // A live range also shows what happens after it was loaded.
    const page = await client.agents.statusHistory(agent.id, { from: new Date(b.from * 1000).toISOString(), ...(b.live ? {} : { to: new Date(b.to * 1000).toISOString() }), limit: 500 });
    return page;
  }, [client, agent.id, key]);
  const metrics = useResource(async (signal) => {
    const b = windowBounds(timeWindow, Date.now() / 1000);
    return client.metrics.agent(agent.id, { from: new Date(b.from * 1000).toISOString(), to: new Date(b.to * 1000).toISOString(), names: METRIC_NAMES }, signal);
  }, [client, agent.id, key]);

  // A new transition reloads the timeline (the API's rows carry the cause and details).
  useLiveEvents(
    (events) => {
      if (events.some((e) => e.agent_id === agent.id && (e.type === 'status.changed' || e.type === 'health.changed' || e.type.startsWith('recovery.') || e.type.startsWith('config.'))))
        void history.reload();
    },
    () => void history.reload(),
  );

  const rows: StatusHistoryEntry[] = history.state.data?.items ?? [];
  const markers = useMemo(() => rows.map((r) => Date.parse(r.created_at) / 1000), [rows]);
  const b = windowBounds(timeWindow, Date.now() / 1000);

  return (
    <div className="activity">
      <div className="range-bar" role="toolbar" aria-label="Time range">
        <span className="range-title">Range</span>
        {(Object.keys(RANGE_PRESETS) as RangePreset[]).map((p) => (
          <button key={p} type="button" aria-pressed={!timeWindow.zoom && timeWindow.preset === p} onClick={() => setPreset(p)}>
            {RANGE_PRESETS[p].label}
          </button>
        ))}
        {timeWindow.zoom ? (
          <>
            <span className="range-zoom" data-testid="range-zoom">
              Zoomed: {dateTime(timeWindow.zoom.from * 1000)} – {dateTime(timeWindow.zoom.to * 1000)}
            </span>
            <button type="button" onClick={resetZoom}>
              Back to last {RANGE_PRESETS[timeWindow.preset].label}
            </button>
          </>
        ) : (
          <span className="muted small">Live: the last {RANGE_PRESETS[timeWindow.preset].label}. Drag across a chart to zoom.</span>
        )}
      </div>
      <div className="activity-grid">
        <MetricCharts agentId={agent.id} window={timeWindow} series={metrics.state} markers={markers} />
        <TimelineList agent={agent} state={history.state} reload={() => void history.reload()} rangeText={`${dateTime(b.from * 1000)} – ${b.live ? 'now' : dateTime(b.to * 1000)}`} />
      </div>
    </div>
  );
}
