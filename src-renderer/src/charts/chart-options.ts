// uPlot options for the console's time-series charts: theme colours, a shared cursor (synced
// across the agent's charts), drag-to-zoom reported to the caller, and vertical markers for
// status transitions. Built once per chart and theme; data and markers change without a rebuild.
import type uPlot from 'uplot';
import type { ChartOptions } from './uplot-chart';

export interface ChartTheme {
  text: string;
  grid: string;
  marker: string;
  palette: string[];
}

export const LIGHT: ChartTheme = { text: '#3b4252', grid: 'rgba(60,70,90,0.12)', marker: 'rgba(176,48,96,0.55)', palette: ['#1f6feb', '#c2410c', '#15803d', '#7c3aed'] };
export const DARK: ChartTheme = { text: '#c9d1d9', grid: 'rgba(200,210,230,0.12)', marker: 'rgba(244,114,182,0.6)', palette: ['#58a6ff', '#f0883e', '#3fb950', '#bc8cff'] };

export interface SeriesDef {
  name: string;
  label: string;
}

export interface TimeChartSpec {
  series: SeriesDef[];
  /** Formats a y value with its unit, for the axis and the legend. */
  format(v: number): string;
  height?: number;
  theme: ChartTheme;
  /** Charts with the same key move their cursors together. */
  syncKey?: string;
  /** The cursor moved (seconds, or null when it left the chart). */
  onCursor?(t: number | null): void;
  /** The user dragged across a span (seconds). */
  onZoom?(from: number, to: number): void;
  /** Times (seconds) of status transitions to draw as vertical lines. */
  markers?: () => number[];
  /** Fixed y range (e.g. 0-100 for percentages). */
  yRange?: [number, number];
  /**
   * Empty buckets shorter than this (seconds) are bridged: samples sparser than the bucket step
   * still draw a line, while a real outage (the agent stopped) stays a gap. Default 60 s.
   */
  maxGapS?: () => number;
}

/** Keeps only the null gaps wider than `maxGapS` (uPlot hands them in canvas pixels). */
export function bridgeShortGaps(maxGapS: () => number): uPlot.Series.GapsRefiner {
  return (u, _sidx, idx0, _idx1, nullGaps) => {
    const xs = u.data[0];
    if (nullGaps.length === 0 || xs.length === 0) return nullGaps;
    const x0 = xs[idx0] ?? xs[0];
    const px = Math.abs(u.valToPos(x0 + maxGapS(), 'x', true) - u.valToPos(x0, 'x', true));
    return nullGaps.filter(([from, to]) => to - from > px);
  };
}

function markersPlugin(markers: () => number[], color: string): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ts = markers();
        if (ts.length === 0) return;
        const { ctx, bbox } = u;
        const min = u.scales.x.min ?? -Infinity;
        const max = u.scales.x.max ?? Infinity;
        ctx.save();
        ctx.strokeStyle = color;
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.beginPath();
        for (const t of ts) {
          if (t < min || t > max) continue;
          const x = Math.round(u.valToPos(t, 'x', true));
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
        }
        ctx.stroke();
        ctx.restore();
      },
    },
  };
}

export function timeChartOptions(spec: TimeChartSpec): ChartOptions {
  const { theme } = spec;
  const axis = (values?: uPlot.Axis['values']): uPlot.Axis => ({
    stroke: theme.text,
    grid: { stroke: theme.grid, width: 1 },
    ticks: { stroke: theme.grid, width: 1 },
    ...(values ? { values } : {}),
  });
  let raf = 0;
  const hooks: uPlot.Hooks.Arrays = {};
  if (spec.onCursor) {
    const onCursor = spec.onCursor;
    hooks.setCursor = [
      (u) => {
        cancelAnimationFrame(raf);
        raf = requestAnimationFrame(() => onCursor(u.cursor.left === undefined || u.cursor.left < 0 ? null : u.posToVal(u.cursor.left, 'x')));
      },
    ];
  }
  if (spec.onZoom) {
    const onZoom = spec.onZoom;
    hooks.setSelect = [
      (u) => {
        if (u.select.width < 4) return;
        const from = u.posToVal(u.select.left, 'x');
        const to = u.posToVal(u.select.left + u.select.width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        onZoom(from, to);
      },
    ];
  }
  return {
    height: spec.height ?? 160,
    pxAlign: false,
    cursor: {
      sync: spec.syncKey ? { key: spec.syncKey, setSeries: false } : undefined,
      drag: { x: !!spec.onZoom, y: false, setScale: false },
      points: { size: 6 },
    },
    legend: { show: true, live: true },
    scales: { x: { time: true }, y: spec.yRange ? { range: spec.yRange } : { range: (_u, min, max) => [Math.min(0, min ?? 0), max !== null && max > 0 ? max * 1.1 : 1] } },
    axes: [axis(), { ...axis((_u, splits) => splits.map((v) => (v === null ? '' : spec.format(v)))), size: 84 }],
    series: [
      { label: 'Time' },
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: theme.palette[i % theme.palette.length],
        width: 1.5,
        spanGaps: false,
        gaps: bridgeShortGaps(spec.maxGapS ?? (() => 60)),
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : spec.format(v)),
      })),
    ],
    hooks,
    plugins: spec.markers ? [markersPlugin(spec.markers, theme.marker)] : [],
  };
}
