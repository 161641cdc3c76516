// The agent's metrics over the shared time range: CPU, memory, disk, network, response time,
// error rate, heartbeat latency, and every number the agent reports itself (counters as rates,
// with units), with y axes fitted to the data, threshold lines, synced cursors, drag-to-zoom,
// labelled status transitions as markers, and live samples appended without React (store
// subscription → plot.setData).
import { useEffect, useMemo, useRef } from 'react';
import type uPlot from 'uplot';
import { useShallow } from 'zustand/react/shallow';
import type { MetricsSeries } from '../../api/types';
import { useConsole, useConsoleStore } from '../../store/context';
import { windowBounds, type TimeWindow } from '../../store/agent-view-slice';
import { UPlotChart } from '../../charts/uplot-chart';
import { DARK, LIGHT, timeChartOptions, type ChartMarker, type Threshold } from '../../charts/chart-options';
import { alignedData, appendSample, noteCounters, seriesFromColumns, stepFor, trimBefore, type LiveSeries } from '../../charts/live-series';
import { ErrorState, Loading } from '../common/states';
import type { Loadable } from '../../store/loadable';
import { chartDefs, SAMPLE_COUNTERS, type MetricChartDef, type SeriesMeta } from './metric-defs';

const RESERVED = new Set(['t', 'from', 'to', 'step', 'agent_id', 'meta']);

/** The series names of an answer (every key but the frame's). */
export function seriesNames(answer: Record<string, unknown>): string[] {
  return Object.keys(answer).filter((k) => !RESERVED.has(k) && Array.isArray(answer[k]));
}

/** How many points of the chart hold a value (in any of its series), on its container: tests read it, and CSS says when there are none. */
function markPoints(p: uPlot, series: LiveSeries, def: MetricChartDef, stepS: number) {
  const cols = def.series.map((s) => series.cols[s.name] ?? []);
  let n = 0;
  let latest: number | null = null;
  for (let i = 0; i < series.t.length; i++) {
    if (cols.some((c) => c[i] !== null && c[i] !== undefined)) n++;
    const v = cols[0][i];
    if (v !== null && v !== undefined) latest = v;
  }
  const box = p.root.parentElement;
  if (box) {
    box.dataset.points = String(n);
    box.dataset.latest = latest === null ? '' : String(latest);
    box.dataset.step = String(stepS);
  }
}

/** The API's step in seconds (it may answer seconds or milliseconds). */
export function stepSeconds(step: number | undefined, rangeS: number): number {
  if (!step || !Number.isFinite(step) || step <= 0) return stepFor(rangeS);
  return step > rangeS / 2 ? step / 1000 : step;
}

export function MetricCharts({
  agentId,
  window: w,
  series,
  markers,
  thresholds,
  dataStartS,
  onMarker,
}: {
  agentId: string;
  window: TimeWindow;
  series: Loadable<MetricsSeries>;
  markers: ChartMarker[];
  thresholds: Record<string, Threshold[]>;
  /** Where this agent's data starts inside the range (fits a young agent's range). */
  dataStartS: number | null;
  onMarker(marker: ChartMarker): void;
}) {
  const { store } = useConsole();
  const { theme, setCursor, zoomTo } = useConsoleStore(useShallow((s) => ({ theme: s.theme, setCursor: s.setCursor, zoomTo: s.zoomTo })));
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  const plots = useRef(new Map<string, uPlot>());
  const markersRef = useRef(markers);
  markersRef.current = markers;
  const thresholdsRef = useRef(thresholds);
  thresholdsRef.current = thresholds;
  const startRef = useRef(dataStartS);
  startRef.current = dataStartS;
  const onMarkerRef = useRef(onMarker);
  onMarkerRef.current = onMarker;
  const live = useRef<{ series: LiveSeries; seq: number; stepS: number } | null>(null);

  const data = series.data;
  const names = useMemo(() => (data ? seriesNames(data as unknown as Record<string, unknown>) : []), [data]);
  const meta = (data as { meta?: Record<string, SeriesMeta> } | undefined)?.meta ?? {};
  const defs = useMemo(() => chartDefs(names, meta), [names.join(','), JSON.stringify(meta)]);
  const allNames = useMemo(() => [...new Set([...names, ...defs.flatMap((d) => d.series.map((s) => s.name))])], [names, defs]);

  const bounds = () => windowBounds(store.getState().timeWindow, Date.now() / 1000, startRef.current);
  // Built once per theme, agent and set of charts: data, markers and the x range change without a rebuild.
  const options = useMemo(
    () =>
      new Map(
        defs.map((c) => [
          c.id,
          timeChartOptions({
            series: c.series,
            format: c.format,
            theme: dark ? DARK : LIGHT,
            syncKey: `agent-${agentId}`,
            height: 150,
            onCursor: (t) => setCursor(t, 'chart'),
            onZoom: (from, to) => zoomTo(from, to),
            markers: () => markersRef.current,
            onMarker: (m) => onMarkerRef.current(m),
            thresholds: c.threshold ? () => thresholdsRef.current[c.threshold!] ?? [] : undefined,
            xRange: () => bounds(),
            // Bridge gaps of a few samples (the sampler runs every few seconds, buckets may be 1 s).
            maxGapS: () => Math.max(35, 3 * (live.current?.stepS ?? 10)),
          }),
        ]),
      ),
    [dark, agentId, setCursor, zoomTo, defs],
  );

  const initial = useMemo(() => {
    if (!data) return null;
    const b = windowBounds(w, Date.now() / 1000);
    const s = seriesFromColumns(allNames, data.t ?? [], data as unknown as Record<string, (number | null)[]>);
    return { series: s, stepS: stepSeconds(data.step, b.to - b.from) };
  }, [data, allNames]);

  const applyScale = (p: uPlot) => {
    const b = bounds();
    p.setScale('x', { min: b.from, max: b.to });
  };

  // Live samples: append to the shared series, hand the same arrays to every plot.
  useEffect(() => {
    if (!initial) return;
    const book = store.getState().samples.book;
    const opts = { stepS: initial.stepS, keepFromS: null, counters: SAMPLE_COUNTERS };
    live.current = { series: initial.series, stepS: initial.stepS, seq: book.of(agentId)?.seq ?? 0 };
    // Samples that arrived while the history was loading: those after the answer's end (the
    // ones before it are in its buckets already; they only start the counters). A zoomed,
    // past range takes none.
    const answeredTo = data ? Date.parse(data.to) : 0;
    const liveNow = bounds().live;
    for (const s of book.since(agentId, 0)) {
      if (liveNow && s.t >= answeredTo) appendSample(initial.series, s.t, s.values, opts);
      else noteCounters(initial.series, s.t, s.values, SAMPLE_COUNTERS);
    }
    const push = () => {
      const l = live.current;
      if (!l) return;
      const st = store.getState();
      const b = bounds();
      if (!b.live) return;
      const fresh = st.samples.book.since(agentId, l.seq);
      if (fresh.length === 0) return;
      l.seq = fresh[fresh.length - 1].seq;
      for (const s of fresh) appendSample(l.series, s.t, s.values, opts);
      trimBefore(l.series, windowBounds(st.timeWindow, Date.now() / 1000).from - l.stepS);
      for (const [id, p] of plots.current) {
        const def = defs.find((c) => c.id === id);
        if (!def) continue;
        p.setData(alignedData(l.series, def.series.map((s) => s.name)), false);
        p.setScale('x', { min: b.from, max: b.to });
        markPoints(p, l.series, def, l.stepS);
      }
    };
    push();
    const unsub = store.subscribe((s, prev) => {
      if (s.samples.revision !== prev.samples.revision) push();
    });
    // A live window slides even when no sample arrives.
    const slide = setInterval(() => {
      if (bounds().live) for (const p of plots.current.values()) applyScale(p);
    }, 5000);
    return () => {
      unsub();
      clearInterval(slide);
    };
  }, [initial, agentId, store, defs]);

  // Redraw markers, thresholds and the fitted range when they change; move the cursor when the timeline points somewhere.
  useEffect(() => {
    for (const p of plots.current.values()) {
      applyScale(p);
      p.redraw(false, false);
    }
  }, [markers, thresholds, dataStartS]);
  useEffect(
    () =>
      store.subscribe((s, prev) => {
        if (s.timeWindow !== prev.timeWindow) for (const p of plots.current.values()) applyScale(p);
        if (s.cursor === prev.cursor || s.cursor.source !== 'timeline') return;
        const t = s.cursor.t;
        for (const p of plots.current.values()) {
          if (t === null) p.setCursor({ left: -10, top: -10 }, false);
          else p.setCursor({ left: p.valToPos(t, 'x'), top: p.bbox.height / devicePixelRatio / 2 }, false);
        }
      }),
    [store],
  );

  if (series.status === 'error' && !data) return <ErrorState what="load the metrics" error={series.error} />;
  if (!initial) return <Loading what="the metrics" />;
  const hasAny = initial.series.t.length > 0 && names.some((n) => initial.series.cols[n]?.some((v) => v !== null));
  return (
    <div className="charts" data-testid="metric-charts">
      {!hasAny && (
        <p className="muted charts-empty" role="status">
          No samples in this range yet. Running agents are sampled every few seconds; pick a longer range or start the agent.
        </p>
      )}
      {defs.map((c) => {
        const latest = c.series.map((s) => initial.series.cols[s.name]?.findLast((v) => v !== null) ?? null);
        const labelText = `${c.title} over the selected range, in ${c.unit || 'units'}; latest ${latest.map((v, i) => `${c.series[i].label} ${v === null ? 'none' : c.format(v)}`).join(', ')}`;
        const th = c.threshold ? (thresholds[c.threshold] ?? []) : [];
        return (
          <figure key={c.id} className="chart-card" data-chart={c.id}>
            <figcaption>
              {c.title}
              {c.unit && <span className="muted small"> ({c.unit})</span>}
              {th.length > 0 && (
                <span className="chart-thresholds small" data-testid={`thresholds-${c.id}`}>
                  {th.map((t) => `${t.level} ${c.format(t.value)}`).join(' · ')}
                </span>
              )}
            </figcaption>
            <UPlotChart
              options={options.get(c.id)!}
              data={alignedData(initial.series, c.series.map((s) => s.name))}
              label={labelText}
              testId={`chart-${c.id}`}
              onReady={(p) => {
                plots.current.set(c.id, p);
                markPoints(p, initial.series, c, initial.stepS);
              }}
              onDestroy={() => plots.current.delete(c.id)}
            />
          </figure>
        );
      })}
    </div>
  );
}
