// Timeline and metrics together: one time range (presets, fitted to a young agent by default,
// or a zoomed span) and one cursor shared by the status timeline and the metrics charts; the
// transitions are the charts' markers (hover names them, a click selects the row).
import { useCallback, useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { Agent, StatusHistoryEntry } from '../../api/types';
import { useConsole, useConsoleStore, useLiveEvents } from '../../store/context';
import { windowBounds } from '../../store/agent-view-slice';
import { useResource } from '../common/use-resource';
import { dateTime } from '../common/format';
import { RangeBar } from '../common/range-bar';
import { MetricCharts, seriesNames } from '../metrics/metric-charts';
import { thresholdsFrom } from '../metrics/metric-defs';
import type { ChartMarker } from '../../charts/chart-options';
import { TimelineList } from './timeline-list';
import { describeTransition, markerTone } from './timeline';

/** While the range follows now, the series are fetched again this often (the agent's own numbers are not in the live samples). */
const REFETCH_MS = 30_000;

export function ActivityPanel({ agent, at }: { agent: Agent; at: number | null }) {
  const { client } = useConsole();
  const { timeWindow, setPreset, setFit, resetZoom, zoomTo, selectEvent } = useConsoleStore(
    useShallow((s) => ({ timeWindow: s.timeWindow, setPreset: s.setPreset, setFit: s.setFit, resetZoom: s.resetZoom, zoomTo: s.zoomTo, selectEvent: s.selectEvent })),
  );

  // Opened from an alert: center the range on its moment.
  useEffect(() => {
    if (at) zoomTo(at / 1000 - 15 * 60, at / 1000 + 15 * 60);
  }, [at, zoomTo]);

  const key = `${timeWindow.preset}:${timeWindow.zoom?.from ?? ''}:${timeWindow.zoom?.to ?? ''}`;
  const history = useResource(async () => {
    const b = windowBounds(timeWindow, Date.now() / 1000);
    // A live range also shows what happens after it was loaded.
    return client.agents.statusHistory(agent.id, { from: new Date(b.from * 1000).toISOString(), ...(b.live ? {} : { to: new Date(b.to * 1000).toISOString() }), limit: 500 });
  }, [client, agent.id, key]);
  const metrics = useResource(async (signal) => {
    const b = windowBounds(timeWindow, Date.now() / 1000);
    return client.metrics.agent(agent.id, { from: new Date(b.from * 1000).toISOString(), to: new Date(b.to * 1000).toISOString() }, signal);
  }, [client, agent.id, key]);
  const config = useResource(() => client.config.effective(agent.id), [client, agent.id]);

  useEffect(() => {
    if (timeWindow.zoom) return;
    const t = setInterval(() => void metrics.reload(), REFETCH_MS);
    return () => clearInterval(t);
  }, [key, metrics.reload]);

  // A new transition reloads the timeline (the API's rows carry the cause and details).
  useLiveEvents(
    (events) => {
      if (events.some((e) => e.agent_id === agent.id && (e.type === 'status.changed' || e.type === 'health.changed' || e.type.startsWith('recovery.') || e.type.startsWith('config.'))))
        void history.reload();
      if (events.some((e) => e.agent_id === agent.id && e.type.startsWith('config.'))) void config.reload();
    },
    () => {
      void history.reload();
      void metrics.reload();
    },
  );

  const rows: StatusHistoryEntry[] = history.state.data?.items ?? [];
  const markers = useMemo<ChartMarker[]>(
    () => rows.map((r) => ({ t: Date.parse(r.created_at) / 1000, label: describeTransition(r), tone: markerTone(r), id: r.id })),
    [rows],
  );
  const thresholds = useMemo(() => thresholdsFrom(config.state.data?.effective?.thresholds?.value), [config.state.data]);
  // Where this agent's data starts in the range: its first sample or transition.
  const dataStartS = useMemo(() => {
    const d = metrics.state.data as unknown as Record<string, unknown> | undefined;
    let first: number | null = null;
    if (d && Array.isArray(d.t)) {
      const t = d.t as number[];
      const cols = seriesNames(d).map((n) => d[n] as Array<number | null>);
      for (let i = 0; i < t.length; i++) {
        if (cols.some((c) => c[i] !== null && c[i] !== undefined)) {
          first = t[i] / 1000;
          break;
        }
      }
    }
    for (const m of markers) if (first === null || m.t < first) first = m.t;
    return first;
  }, [metrics.state.data, markers]);
  const onMarker = useCallback((m: ChartMarker) => selectEvent(m.id), [selectEvent]);
  const b = windowBounds(timeWindow, Date.now() / 1000, dataStartS);

  return (
    <div className="activity">
      <RangeBar window={timeWindow} setPreset={setPreset} resetZoom={resetZoom} fit={{ on: timeWindow.fit, set: setFit }} fittedFromS={b.fitted ? b.from : null} />
      <div className="activity-grid">
        <MetricCharts agentId={agent.id} window={timeWindow} series={metrics.state} markers={markers} thresholds={thresholds} dataStartS={dataStartS} onMarker={onMarker} />
        <TimelineList agent={agent} state={history.state} reload={() => void history.reload()} rangeText={`${dateTime(b.from * 1000)} – ${b.live ? 'now' : dateTime(b.to * 1000)}`} />
      </div>
    </div>
  );
}
