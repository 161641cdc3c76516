// The agent's metrics over the shared time range: CPU, memory, disk, network, response time,
// error rate and heartbeat latency, with synced cursors, drag-to-zoom, status transitions as
// markers, and live samples appended without React (store subscription → plot.setData).
import { useEffect, useMemo, useRef } from 'react';
import type uPlot from 'uplot';
import { useShallow } from 'zustand/react/shallow';
import type { MetricsSeries } from '../../api/types';
import { isMissingEndpoint } from '../../api/errors';
import { useConsole, useConsoleStore } from '../../store/context';
import { windowBounds, type TimeWindow } from '../../store/agent-view-slice';
import { UPlotChart } from '../../charts/uplot-chart';
import { DARK, LIGHT, timeChartOptions, type SeriesDef } from '../../charts/chart-options';
import { alignedData, appendSample, seriesFromColumns, stepFor, trimBefore, type LiveSeries } from '../../charts/live-series';
import { bytes, number } from '../common/format';
import { ErrorState, Loading } from '../common/states';
import type { Loadable } from '../../store/loadable';

export interface MetricChartDef {
  id: string;
  title: string;
  series: SeriesDef[];
  format(v: number): string;
  yRange?: [number, number];
}

export const METRIC_CHARTS: MetricChartDef[] = [
  { id: 'cpu', title: 'CPU', series: [{ name: 'cpu_percent', label: 'CPU %' }], format: (v) => `${number(v)} %`, yRange: [0, 100] },
  { id: 'memory', title: 'Memory', series: [{ name: 'memory_mb', label: 'Memory MB' }], format: (v) => `${number(v)} MB` },
  { id: 'disk', title: 'Disk I/O', series: [{ name: 'disk_read_bytes', label: 'Read' }, { name: 'disk_write_bytes', label: 'Write' }], format: (v) => `${bytes(v)}/s` },
  { id: 'network', title: 'Network', series: [{ name: 'net_rx_bytes', label: 'In' }, { name: 'net_tx_bytes', label: 'Out' }], format: (v) => `${bytes(v)}/s` },
  { id: 'response', title: 'Response time', series: [{ name: 'response_ms', label: 'Response ms' }], format: (v) => `${number(v)} ms` },
  { id: 'errors', title: 'Error rate', series: [{ name: 'error_rate', label: 'Error rate' }], format: (v) => `${number(v * 100, 2)} %` },
  { id: 'heartbeat', title: 'Heartbeat latency', series: [{ name: 'heartbeat_latency_ms', label: 'Latency ms' }], format: (v) => `${number(v)} ms` },
];
export const METRIC_NAMES = METRIC_CHARTS.flatMap((c) => c.series.map((s) => s.name));

/** How many points of the chart hold a value (in any of its series), on its container: tests read it, and CSS says when there are none. */
function markPoints(p: uPlot, series: LiveSeries, def: MetricChartDef) {
  const cols = def.series.map((s) => series.cols[s.name] ?? []);
  let n = 0;
  for (let i = 0; i < series.t.length; i++) if (cols.some((c) => c[i] !== null && c[i] !== undefined)) n++;
  const box = p.root.parentElement;
  if (box) box.dataset.points = String(n);
}

/** The API's step in seconds (it may answer seconds or milliseconds). */
export function stepSeconds(step: number | undefined, rangeS: number): number {
  if (!step || !Number.isFinite(step) || step <= 0) return stepFor(rangeS);
  return step > rangeS / 2 ? step / 1000 : step;
}

export function MetricCharts({ agentId, window: w, series, markers }: { agentId: string; window: TimeWindow; series: Loadable<MetricsSeries>; markers: number[] }) {
  const { store } = useConsole();
  const { theme, setCursor, zoomTo } = useConsoleStore(useShallow((s) => ({ theme: s.theme, setCursor: s.setCursor, zoomTo: s.zoomTo })));
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  const plots = useRef(new Map<string, uPlot>());
  const markersRef = useRef(markers);
  markersRef.current = markers;
  const live = useRef<{ series: LiveSeries; seq: number; stepS: number } | null>(null);

  // Built once per theme and agent: data, markers and the x range change without a rebuild.
  const options = useMemo(
    () =>
      new Map(
        METRIC_CHARTS.map((c) => [
          c.id,
          timeChartOptions({
            series: c.series,
            format: c.format,
            yRange: c.yRange,
            theme: dark ? DARK : LIGHT,
            syncKey: `agent-${agentId}`,
            height: 150,
            onCursor: (t) => setCursor(t, 'chart'),
            onZoom: (from, to) => zoomTo(from, to),
            markers: () => markersRef.current,
            // Bridge gaps of a few samples (the sampler runs every few seconds, buckets may be 1 s).
            maxGapS: () => Math.max(35, 3 * (live.current?.stepS ?? 10)),
          }),
        ]),
      ),
    [dark, agentId, setCursor, zoomTo],
  );

  const data = series.data;
  const initial = useMemo(() => {
    if (!data) return null;
    const b = windowBounds(w, Date.now() / 1000);
    const s = seriesFromColumns(METRIC_NAMES, data.t ?? [], data as unknown as Record<string, (number | null)[]>);
    return { series: s, stepS: stepSeconds(data.step, b.to - b.from) };
  }, [data]);

  const applyScale = (p: uPlot) => {
    const b = windowBounds(store.getState().timeWindow, Date.now() / 1000);
    p.setScale('x', { min: b.from, max: b.to });
  };

  // Live samples: append to the shared series, hand the same arrays to every plot.
  useEffect(() => {
    if (!initial) return;
    const book = store.getState().samples.book;
    live.current = { series: initial.series, stepS: initial.stepS, seq: book.of(agentId)?.seq ?? 0 };
    // Samples that arrived while the history was loading.
    const fetchedTo = initial.series.t.at(-1) ?? 0;
    for (const s of book.since(agentId, 0)) if (s.t / 1000 > fetchedTo) appendSample(initial.series, s.t, s.values, { stepS: initial.stepS, keepFromS: null });
    const push = () => {
      const l = live.current;
      if (!l) return;
      const st = store.getState();
      const b = windowBounds(st.timeWindow, Date.now() / 1000);
      if (!b.live) return;
      const fresh = st.samples.book.since(agentId, l.seq);
      if (fresh.length === 0) return;
      l.seq = fresh[fresh.length - 1].seq;
      for (const s of fresh) appendSample(l.series, s.t, s.values, { stepS: l.stepS, keepFromS: null });
      trimBefore(l.series, b.from - l.stepS);
      for (const [id, p] of plots.current) {
        const def = METRIC_CHARTS.find((c) => c.id === id)!;
        p.setData(alignedData(l.series, def.series.map((s) => s.name)), false);
        p.setScale('x', { min: b.from, max: b.to });
        markPoints(p, l.series, def);
      }
    };
    push();
    const unsub = store.subscribe((s, prev) => {
      if (s.samples.revision !== prev.samples.revision) push();
    });
    // A live window slides even when no sample arrives.
    const slide = setInterval(() => {
      if (windowBounds(store.getState().timeWindow, 0).live) for (const p of plots.current.values()) applyScale(p);
    }, 5000);
    return () => {
      unsub();
      clearInterval(slide);
    };
  }, [initial, agentId, store]);

  // Redraw the transition markers when they change; move the cursor when the timeline points somewhere.
  useEffect(() => {
    for (const p of plots.current.values()) p.redraw(false, false);
  }, [markers]);
  useEffect(
    () =>
      store.subscribe((s, prev) => {
        if (s.cursor === prev.cursor || s.cursor.source !== 'timeline') return;
        const t = s.cursor.t;
        for (const p of plots.current.values()) {
          if (t === null) p.setCursor({ left: -10, top: -10 }, false);
          else p.setCursor({ left: p.valToPos(t, 'x'), top: p.bbox.height / devicePixelRatio / 2 }, false);
        }
      }),
    [store],
  );

  if (series.status === 'error' && !data) {
    return isMissingEndpoint(series.error) ? (
      <ErrorState what="load the metrics" error={series.error} />
    ) : (
      <ErrorState what="load the metrics" error={series.error} />
    );
  }
  if (!initial) return <Loading what="the metrics" />;
  const hasAny = initial.series.t.length > 0;
  return (
    <div className="charts" data-testid="metric-charts">
      {!hasAny && (
        <p className="muted charts-empty" role="status">
          No samples in this range yet. Running agents are sampled every few seconds; pick a longer range or start the agent.
        </p>
      )}
      {METRIC_CHARTS.map((c) => {
        const names = c.series.map((s) => s.name);
        const latest = names.map((n) => initial.series.cols[n]?.findLast((v) => v !== null) ?? null);
        const labelText = `${c.title} over the selected range; latest ${latest.map((v, i) => `${c.series[i].label} ${v === null ? 'none' : c.format(v)}`).join(', ')}`;
        return (
          <figure key={c.id} className="chart-card">
            <figcaption>{c.title}</figcaption>
            <UPlotChart
              options={options.get(c.id)!}
              data={alignedData(initial.series, names)}
              label={labelText}
              testId={`chart-${c.id}`}
              onReady={(p) => {
                plots.current.set(c.id, p);
                markPoints(p, initial.series, c);
                applyScale(p);
              }}
              onDestroy={() => plots.current.delete(c.id)}
            />
          </figure>
        );
      })}
    </div>
  );
}
