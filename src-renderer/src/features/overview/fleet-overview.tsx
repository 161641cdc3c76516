// The fleet overview: fleet-wide CPU, memory and event rates (GET /metrics) and how many agents
// were in each process and health state over time (GET /status/counts, from the status
// history), with the same range controls as an agent's charts, synced cursors and drag-to-zoom.
import { useEffect, useMemo, useRef } from 'react';
import type uPlot from 'uplot';
import { useShallow } from 'zustand/react/shallow';
import type { FleetSeries, StateCounts } from '../../api/types';
import { useConsole, useConsoleStore, useLiveEvents } from '../../store/context';
import { windowBounds } from '../../store/agent-view-slice';
import { UPlotChart } from '../../charts/uplot-chart';
import { DARK, LIGHT, timeChartOptions, type ChartTheme, type SeriesDef } from '../../charts/chart-options';
import { useResource } from '../common/use-resource';
import { RangeBar } from '../common/range-bar';
import { ErrorState, Loading } from '../common/states';
import { StaleNote } from '../common/link';
import { bytes, number, plural } from '../common/format';
import { FleetTabs } from '../dashboard/dashboard-view';

const REFETCH_MS = 30_000;

export interface OverviewChartDef {
  id: string;
  title: string;
  unit: string;
  series: SeriesDef[];
  format(v: number): string;
  /** Counts: whole numbers on the axis. */
  integer?: boolean;
  /** The columns, aligned with `t`, from the two answers. */
  columns(m: FleetSeries, c: StateCounts): Array<Array<number | null>>;
}

const col = (m: FleetSeries, name: string) => ((m as unknown as Record<string, Array<number | null> | undefined>)[name] ?? []) as Array<number | null>;
const mib = (v: number) => (v >= 1024 ? bytes(v * 1024 * 1024) : `${number(v)} MiB`);

export const OVERVIEW_CHARTS: OverviewChartDef[] = [
  {
    id: 'fleet-cpu',
    title: 'CPU',
    unit: '% of one core',
    series: [
      { name: 'cpu_percent_avg', label: 'Average' },
      { name: 'cpu_percent_max', label: 'Highest agent' },
    ],
    format: (v) => `${number(v, v < 1 ? 2 : 1)} %`,
    columns: (m) => [col(m, 'cpu_percent_avg'), col(m, 'cpu_percent_max')],
  },
  {
    id: 'fleet-memory',
    title: 'Memory',
    unit: 'MiB',
    series: [
      { name: 'memory_mb_total', label: 'All agents' },
      { name: 'memory_mb_max', label: 'Largest agent' },
    ],
    format: mib,
    columns: (m) => [col(m, 'memory_mb_total'), col(m, 'memory_mb_max')],
  },
  {
    id: 'fleet-events',
    title: 'Event rate',
    unit: 'events/s',
    series: [
      { name: 'events_processed_rate', label: 'Processed' },
      { name: 'events_failed_rate', label: 'Failed' },
    ],
    format: (v) => `${number(v, 2)} /s`,
    columns: (m) => [col(m, 'events_processed_rate'), col(m, 'events_failed_rate')],
  },
  {
    id: 'fleet-process',
    title: 'Agents by process state',
    unit: 'agents',
    series: ['running', 'degraded', 'failed', 'stopped', 'registered', 'starting'].map((s) => ({ name: s, label: s.charAt(0).toUpperCase() + s.slice(1) })),
    format: (v) => number(v),
    integer: true,
    columns: (_m, c) => ['running', 'degraded', 'failed', 'stopped', 'registered', 'starting'].map((s) => (c.process as Record<string, number[]>)[s] ?? []),
  },
  {
    id: 'fleet-health',
    title: 'Agents by health',
    unit: 'agents',
    series: ['healthy', 'warning', 'critical', 'unknown'].map((s) => ({ name: s, label: s.charAt(0).toUpperCase() + s.slice(1) })),
    format: (v) => number(v),
    integer: true,
    columns: (_m, c) => ['healthy', 'warning', 'critical', 'unknown'].map((s) => (c.health as Record<string, number[]>)[s] ?? []),
  },
];

/** uPlot options of an overview chart (the bench builds the same). */
export function overviewOptions(def: OverviewChartDef, theme: ChartTheme, handlers: { onZoom?(from: number, to: number): void; range?: () => { from: number; to: number } } = {}) {
  return timeChartOptions({
    series: def.series,
    format: def.format,
    theme,
    syncKey: 'fleet-overview',
    height: 170,
    onZoom: handlers.onZoom,
    integer: def.integer,
    maxGapS: () => 0,
    xRange: handlers.range,
  });
}

/** One overview chart: its caption and the plot, scaled to the range. */
export function OverviewChart({
  def,
  options,
  data,
  range,
}: {
  def: OverviewChartDef;
  options: ReturnType<typeof overviewOptions>;
  data: uPlot.AlignedData;
  range: () => { from: number; to: number };
}) {
  const plot = useRef<uPlot | null>(null);
  // A new range (preset or zoom) moves the plot; the first draw already had it (xRange).
  useEffect(() => {
    const p = plot.current;
    const r = range();
    if (p && (p.scales.x.min !== r.from || p.scales.x.max !== r.to)) p.setScale('x', { min: r.from, max: r.to });
  });
  const latest = def.series.map((_, i) => (data[i + 1] as Array<number | null>).findLast((v) => v !== null) ?? null);
  return (
    <figure className="chart-card" data-chart={def.id}>
      <figcaption>
        {def.title} <span className="muted small">({def.unit})</span>
      </figcaption>
      <UPlotChart
        options={options}
        data={data}
        label={`${def.title} over the selected range; latest ${def.series.map((s, i) => `${s.label} ${latest[i] === null ? 'none' : def.format(latest[i]!)}`).join(', ')}`}
        testId={`chart-${def.id}`}
        onReady={(p) => {
          plot.current = p;
          const box = p.root.parentElement;
          if (box) box.dataset.points = String(data[0].length);
        }}
      />
    </figure>
  );
}

export function FleetOverview() {
  const { client, store } = useConsole();
  const { w, setPreset, resetZoom, zoom, theme, fleet } = useConsoleStore(
    useShallow((s) => ({ w: s.overviewWindow, setPreset: s.setOverviewPreset, resetZoom: s.resetOverviewZoom, zoom: s.zoomOverview, theme: s.theme, fleet: s.fleet })),
  );
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  const key = `${w.preset}:${w.zoom?.from ?? ''}:${w.zoom?.to ?? ''}`;
  const data = useResource(
    async (signal) => {
      const b = windowBounds(w, Date.now() / 1000);
      const q = { from: new Date(b.from * 1000).toISOString(), to: new Date(b.to * 1000).toISOString() };
      const [metrics, counts] = await Promise.all([client.metrics.fleet(q, signal), client.metrics.stateCounts(q, signal)]);
      return { metrics, counts };
    },
    [client, key],
  );
  useEffect(() => {
    if (w.zoom) return;
    const t = setInterval(() => void data.reload(), REFETCH_MS);
    return () => clearInterval(t);
  }, [key, data.reload]);
  // A state change shows in the counts at once (a quiet refetch, at most every few seconds).
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  useLiveEvents(
    (events) => {
      if (w.zoom || pending.current || !events.some((e) => e.type === 'status.changed' || e.type === 'health.changed')) return;
      pending.current = setTimeout(() => {
        pending.current = null;
        void data.reload();
      }, 3000);
    },
    () => void data.reload(),
  );
  useEffect(() => () => void (pending.current && clearTimeout(pending.current)), []);

  const range = () => windowBounds(store.getState().overviewWindow, Date.now() / 1000);
  const options = useMemo(() => new Map(OVERVIEW_CHARTS.map((d) => [d.id, overviewOptions(d, dark ? DARK : LIGHT, { onZoom: zoom, range })])), [dark, zoom]);
  const now = fleet.counts;
  const d = data.state.data;
  return (
    <section className="view overview" aria-labelledby="overview-title">
      <header className="view-header">
        <h1 id="overview-title">Fleet</h1>
        <p className="view-sub" data-testid="overview-now">
          {plural(now.total, 'agent')} now: {now.process.running ?? 0} running, {now.process.failed ?? 0} failed, {now.health.critical ?? 0} critical
        </p>
        <StaleNote />
      </header>
      <FleetTabs current="overview" />
      <RangeBar window={w} setPreset={setPreset} resetZoom={resetZoom} />
      {data.state.status === 'error' && !d ? (
        <ErrorState what="load the fleet's series" error={data.state.error} retry={() => void data.reload()} />
      ) : !d ? (
        <Loading what="the fleet's series" />
      ) : (
        <div className="charts overview-charts" data-testid="overview-charts">
          {OVERVIEW_CHARTS.map((def) => (
            <OverviewChart
              key={def.id}
              def={def}
              options={options.get(def.id)!}
              data={[d.metrics.t.map((t) => t / 1000), ...def.columns(d.metrics, d.counts)] as uPlot.AlignedData}
              range={range}
            />
          ))}
        </div>
      )}
    </section>
  );
}

