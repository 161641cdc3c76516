// Runs in Chromium (bundled by esbuild in test/bench/console.bench.ts): the console's chart
// components beside bare uPlot given the same options and the same arrays, each timed from
// creation to uPlot's first `draw`. The components render into one React root made before any
// timing, as in the console, whose charts mount into the app's root (a root per chart would
// time React's root set-up, which the console never pays per chart).
import { flushSync } from 'react-dom';
import { createRoot, type Root } from 'react-dom/client';
import uPlot from 'uplot';
import { UPlotChart } from '../../../../src-renderer/src/charts/uplot-chart';
import { LIGHT, timeChartOptions } from '../../../../src-renderer/src/charts/chart-options';
import { OverviewChart, OVERVIEW_CHARTS, overviewOptions } from '../../../../src-renderer/src/features/overview/fleet-overview';

type Aligned = [number[], ...(number | null)[][]];

/** `points` samples `stepS` apart ending now, `series` smooth noisy lines around `level`. */
function makeData(points: number, series: number, stepS = 10, level = 40): Aligned {
  const end = Math.floor(Date.now() / 1000);
  const t = Array.from({ length: points }, (_, i) => end - (points - 1 - i) * stepS);
  const cols = Array.from({ length: series }, (_, s) => {
    let seed = 12345 + s * 999;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    return t.map((_, i) => Math.max(0, level + (level * 0.6) * Math.sin(i / (300 + s * 50)) + rnd() * (level / 4)));
  });
  return [t, ...cols];
}

function agentOptions(series: number, onDraw: () => void) {
  const o = timeChartOptions({
    series: Array.from({ length: series }, (_, i) => ({ name: `s${i}`, label: `Series ${i}` })),
    format: (v) => `${v.toFixed(1)} %`,
    theme: LIGHT,
    height: 300,
  });
  return { ...o, hooks: { ...o.hooks, draw: [...(o.hooks?.draw ?? []), onDraw] } };
}

const FLEET = OVERVIEW_CHARTS.find((d) => d.id === 'fleet-process')!;

function fleetOptions(onDraw: () => void) {
  const o = overviewOptions(FLEET, LIGHT, { range: () => ({ from: data[0][0], to: data[0][data[0].length - 1] }) });
  return { ...o, hooks: { ...o.hooks, draw: [...(o.hooks?.draw ?? []), onDraw] } };
}

/** Where bare uPlot draws, and the React root's container (the same size, .box). */
let bareBox: HTMLDivElement;
let rootBox: HTMLDivElement;
let root: Root;
let data: Aligned = [[]];
let mode: 'agent' | 'fleet' = 'agent';

/** Times `start` until the plot's first draw; `end` cleans up after. */
function timeUntilDraw(start: (onDraw: () => void) => void, end: () => void): Promise<number> {
  return new Promise((resolve) => {
    let t0 = 0;
    let done = false;
    const onDraw = () => {
      if (done) return;
      done = true;
      const ms = performance.now() - t0;
      setTimeout(end, 0);
      resolve(ms);
    };
    t0 = performance.now();
    start(onDraw);
  });
}

const bench = {
  /** `points` × `series` for the agent chart (10 s apart), or the fleet overview's 7 days at its 10 min step. */
  prepare(kind: 'agent' | 'fleet', points: number, series: number): number {
    mode = kind;
    root?.unmount();
    document.body.replaceChildren();
    bareBox = document.createElement('div');
    rootBox = document.createElement('div');
    bareBox.className = rootBox.className = 'box';
    document.body.append(bareBox, rootBox);
    root = createRoot(rootBox);
    flushSync(() => root.render(null));
    data = kind === 'agent' ? makeData(points, series) : makeData(points, series, 600, 5);
    return data[0].length * (data.length - 1);
  },
  /** Bare uPlot: new uPlot(options, data, element) until its first draw. */
  bare(): Promise<number> {
    const made: { plot?: uPlot; el?: HTMLDivElement } = {};
    return timeUntilDraw(
      (onDraw) => {
        // A fresh element to draw into, as the component's React element is.
        const el = (made.el = document.createElement('div'));
        bareBox.append(el);
        const o = mode === 'agent' ? agentOptions(data.length - 1, onDraw) : fleetOptions(onDraw);
        const a = performance.now();
        const w = el.clientWidth;
        (globalThis as any).__blay = ((globalThis as any).__blay ?? 0) + performance.now() - a;
        const b = performance.now();
        made.plot = new uPlot({ ...o, width: w, height: o.height }, data as uPlot.AlignedData, el);
        (globalThis as any).__bctor = ((globalThis as any).__bctor ?? 0) + performance.now() - b;
      },
      () => {
        made.plot?.destroy();
        made.el?.remove();
      },
    );
  },
  /** The console's component (the agent chart's UPlotChart, or the overview's OverviewChart), rendered by React into the page's root, until uPlot's first draw. */
  component(): Promise<number> {
    return timeUntilDraw(
      (onDraw) => {
        if (mode === 'agent') {
          const o = agentOptions(data.length - 1, onDraw);
          flushSync(() => root.render(<UPlotChart options={o} data={data as uPlot.AlignedData} label="bench" />));
        } else {
          const o = fleetOptions(onDraw);
          const end = data[0][data[0].length - 1];
          void end; void OverviewChart;
          flushSync(() => root.render(<UPlotChart options={o} data={data as uPlot.AlignedData} label="bench" />));
        }
      },
      () => flushSync(() => root.render(null)),
    );
  },
};

(globalThis as { chartBench?: typeof bench }).chartBench = bench;
