// uPlot options for the console's time-series charts: theme colours, a 24-hour local time axis
// (as every time in the console), a y axis scaled to the data, threshold lines, a shared cursor
// (synced across charts), drag-to-zoom reported to the caller, and labelled event markers
// (hover shows the event, click selects it). Built once per chart and theme; data, markers and
// thresholds change without a rebuild.
import type uPlot from 'uplot';
import type { ChartOptions } from './uplot-chart';

export interface ChartTheme {
  text: string;
  grid: string;
  marker: string;
  markerBad: string;
  markerGood: string;
  warning: string;
  critical: string;
  palette: string[];
}

export const LIGHT: ChartTheme = {
  text: '#3b4252',
  grid: 'rgba(60,70,90,0.12)',
  marker: 'rgba(90,100,120,0.55)',
  markerBad: 'rgba(190,30,40,0.75)',
  markerGood: 'rgba(20,120,50,0.7)',
  warning: 'rgba(180,110,0,0.85)',
  critical: 'rgba(200,30,30,0.85)',
  palette: ['#1f6feb', '#c2410c', '#15803d', '#7c3aed', '#0e7490', '#be185d', '#4d7c0f', '#92400e'],
};
export const DARK: ChartTheme = {
  text: '#c9d1d9',
  grid: 'rgba(200,210,230,0.12)',
  marker: 'rgba(200,210,230,0.45)',
  markerBad: 'rgba(255,120,120,0.8)',
  markerGood: 'rgba(100,220,140,0.7)',
  warning: 'rgba(240,180,70,0.85)',
  critical: 'rgba(255,110,110,0.9)',
  palette: ['#58a6ff', '#f0883e', '#3fb950', '#bc8cff', '#39c5cf', '#ff7eb6', '#a5d65a', '#e3b341'],
};

export interface SeriesDef {
  name: string;
  label: string;
}

/** A moment on the chart: a status transition. `tone` picks its colour. */
export interface ChartMarker {
  /** Seconds. */
  t: number;
  label: string;
  tone: 'bad' | 'good' | 'neutral';
  /** What a click selects (the timeline row's id). */
  id: number;
}

export interface Threshold {
  value: number;
  level: 'warning' | 'critical';
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
  /** Status transitions to draw as vertical lines, labelled on hover. */
  markers?: () => ChartMarker[];
  /** A marker was clicked. */
  onMarker?(marker: ChartMarker): void;
  /** Horizontal threshold lines (warning, critical) for the first series. */
  thresholds?: () => Threshold[];
  /** Fixed y range; otherwise the range fits the data. */
  yRange?: [number, number];
  /** Whole numbers only on the y axis (counts of agents). */
  integer?: boolean;
  /**
   * The x range (seconds) the plot starts with, read when the options are built (the plot is
   * made right after): the first draw is the right one, with no setScale and second draw after
   * it. Later changes go through setScale. Without it, the x range fits the data.
   */
  xRange?: () => { from: number; to: number };
  /**
   * Empty buckets shorter than this (seconds) are bridged: samples sparser than the bucket step
   * still draw a line, while a real outage (the agent stopped) stays a gap. Default 60 s.
   */
  maxGapS?: () => number;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A time-axis tick in local 24-hour time: the date at midnight and for day steps, seconds only when the step needs them. */
export function timeTick(seconds: number, incrS: number, first: boolean): string {
  const d = new Date(seconds * 1000);
  const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  if (incrS >= 86_400) return date;
  const time = incrS < 60 ? `${hm}:${pad2(d.getSeconds())}` : hm;
  const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
  return first || midnight ? `${time}\n${date.slice(5)}` : time;
}

/** The legend's time: "2026-03-04 14:05:09", local and 24-hour like dateTime(). */
export function legendTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * A y range that fits the data: 0 at the bottom when the data is near it (so sizes compare),
 * else just below the lowest value; a little room above the highest. 0.4-0.6 % CPU is a line
 * with its ups and downs, not a flat line on a 0-100 axis.
 */
export function dataYRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    if (min === 0) return [0, 1];
    const m = Math.abs(min);
    return min > 0 ? [0, min * 1.25] : [min - m * 0.25, 0];
  }
  const span = max - min;
  const low = min >= 0 && min <= span ? 0 : min - span * 0.1;
  return [low, max + span * 0.1];
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

/**
 * Values with no neighbour (a lone sample between gaps) are drawn as a dot: a line needs two
 * points, and otherwise they would not show at all.
 */
export const isolatedPoints: uPlot.Series.Points.Filter = (u, si, show) => {
  if (show) return null;
  const xs = u.data[0];
  const ys = u.data[si] as Array<number | null | undefined>;
  const min = u.scales.x.min ?? -Infinity;
  const max = u.scales.x.max ?? Infinity;
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] === null || ys[i] === undefined || xs[i] < min || xs[i] > max) continue;
    const prev = i > 0 ? ys[i - 1] : null;
    const next = i < ys.length - 1 ? ys[i + 1] : null;
    if ((prev === null || prev === undefined) && (next === null || next === undefined)) out.push(i);
  }
  return out.length ? out : null;
};

/** The markers within `slackPx` CSS pixels of the cursor, nearest first (transitions a second apart share a pixel). */
export function markersAt(u: uPlot, markers: ChartMarker[], leftPx: number, slackPx = 5): ChartMarker[] {
  const min = u.scales.x.min ?? -Infinity;
  const max = u.scales.x.max ?? Infinity;
  const near: Array<{ m: ChartMarker; d: number }> = [];
  for (const m of markers) {
    if (m.t < min || m.t > max) continue;
    const d = Math.abs(u.valToPos(m.t, 'x') - leftPx);
    if (d <= slackPx) near.push({ m, d });
  }
  return near.sort((a, b) => a.d - b.d || a.m.t - b.m.t).map((x) => x.m);
}

function markersPlugin(spec: TimeChartSpec, theme: ChartTheme): uPlot.Plugin {
  const markers = spec.markers!;
  let tip: HTMLDivElement | null = null;
  let hovered: ChartMarker | undefined;
  // Synced charts move their cursors together; the tip is shown only on the chart under the pointer.
  let pointerInside = false;
  const colour = (m: ChartMarker) => (m.tone === 'bad' ? theme.markerBad : m.tone === 'good' ? theme.markerGood : theme.marker);
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'chart-marker-tip';
        tip.setAttribute('role', 'tooltip');
        tip.hidden = true;
        u.over.append(tip);
        u.over.addEventListener('mouseenter', () => (pointerInside = true));
        u.over.addEventListener('mouseleave', () => (pointerInside = false));
        u.over.addEventListener('click', () => {
          // A drag ends in a click too; only a click without a selection picks a marker.
          if (hovered && u.select.width < 4) spec.onMarker?.(hovered);
        });
      },
      setCursor: (u) => {
        const left = u.cursor.left;
        const near = left === undefined || left < 0 ? [] : markersAt(u, markers(), left);
        hovered = near[0];
        if (!tip) return;
        if (!hovered || !pointerInside) {
          tip.hidden = true;
          u.over.style.cursor = '';
          return;
        }
        // The one a click selects first, then its neighbours in time order.
        const shown = [hovered, ...near.slice(1, 3).sort((a, b) => a.t - b.t)];
        tip.textContent = shown.map((m) => `${legendTime(m.t).slice(11)} ${m.label}`).join(' · ') + (near.length > 3 ? ` · +${near.length - 3} more` : '');
        tip.hidden = false;
        const x = u.valToPos(hovered.t, 'x');
        const flip = x > u.over.clientWidth * 0.6;
        tip.style.left = flip ? '' : `${x + 6}px`;
        tip.style.right = flip ? `${u.over.clientWidth - x + 6}px` : '';
        u.over.style.cursor = 'pointer';
      },
      draw: (u) => {
        const list = markers();
        if (list.length === 0) return;
        const { ctx, bbox } = u;
        const min = u.scales.x.min ?? -Infinity;
        const max = u.scales.x.max ?? Infinity;
        const dpr = devicePixelRatio;
        ctx.save();
        ctx.lineWidth = Math.max(1, dpr);
        ctx.setLineDash([4 * dpr, 3 * dpr]);
        for (const m of list) {
          if (m.t < min || m.t > max) continue;
          const x = Math.round(u.valToPos(m.t, 'x', true));
          ctx.strokeStyle = colour(m);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
          // A small flag at the top, so a marker can be found without hovering.
          ctx.fillStyle = colour(m);
          ctx.beginPath();
          ctx.moveTo(x - 4 * dpr, bbox.top);
          ctx.lineTo(x + 4 * dpr, bbox.top);
          ctx.lineTo(x, bbox.top + 6 * dpr);
          ctx.fill();
        }
        ctx.restore();
      },
    },
  };
}

function thresholdsPlugin(thresholds: () => Threshold[], theme: ChartTheme): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const list = thresholds();
        if (list.length === 0) return;
        const { ctx, bbox } = u;
        const lo = u.scales.y.min ?? -Infinity;
        const hi = u.scales.y.max ?? Infinity;
        const dpr = devicePixelRatio;
        ctx.save();
        ctx.lineWidth = Math.max(1, dpr);
        ctx.setLineDash([6 * dpr, 4 * dpr]);
        ctx.font = `${11 * dpr}px system-ui, sans-serif`;
        for (const t of list) {
          if (t.value < lo || t.value > hi) continue;
          const y = Math.round(u.valToPos(t.value, 'y', true));
          ctx.strokeStyle = t.level === 'critical' ? theme.critical : theme.warning;
          ctx.beginPath();
          ctx.moveTo(bbox.left, y);
          ctx.lineTo(bbox.left + bbox.width, y);
          ctx.stroke();
          ctx.fillStyle = ctx.strokeStyle;
          ctx.fillText(t.level, bbox.left + 4 * dpr, y - 3 * dpr);
        }
        ctx.restore();
      },
    },
  };
}

/** The scales as drawn, on the chart's container (tests read drawn values from them; nothing else does). */
function publishScales(u: uPlot) {
  const box = u.root.parentElement;
  if (!box) return;
  const x = u.scales.x;
  const y = u.scales.y;
  box.dataset.xMin = String(x.min ?? '');
  box.dataset.xMax = String(x.max ?? '');
  box.dataset.yMin = String(y.min ?? '');
  box.dataset.yMax = String(y.max ?? '');
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
  const hooks: uPlot.Hooks.Arrays = { draw: [publishScales] };
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
  const plugins: uPlot.Plugin[] = [];
  if (spec.markers) plugins.push(markersPlugin(spec, theme));
  if (spec.thresholds) plugins.push(thresholdsPlugin(spec.thresholds, theme));
  return {
    height: spec.height ?? 160,
    pxAlign: false,
    cursor: {
      sync: spec.syncKey ? { key: spec.syncKey, setSeries: false } : undefined,
      drag: { x: !!spec.onZoom, y: false, setScale: false },
      points: { size: 6 },
    },
    legend: { show: true, live: true },
    scales: {
      x: spec.xRange ? { time: true, auto: false, min: spec.xRange().from, max: spec.xRange().to } : { time: true },
      y: spec.yRange ? { range: spec.yRange } : { range: (_u, min, max) => dataYRange(min, max) },
    },
    axes: [
      axis((_u, splits, _i, _space, incr) => splits.map((v, i) => (v === null ? '' : timeTick(v, incr, i === 0)))),
      {
        ...axis((_u, splits) => splits.map((v) => (v === null ? '' : spec.format(v)))),
        size: 84,
        ...(spec.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000] } : {}),
      },
    ],
    series: [
      { label: 'Time', value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : legendTime(v)) },
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: theme.palette[i % theme.palette.length],
        width: 1.5,
        spanGaps: false,
        gaps: bridgeShortGaps(spec.maxGapS ?? (() => 60)),
        points: { filter: isolatedPoints },
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : spec.format(v)),
      })),
    ],
    hooks,
    plugins,
  };
}
