// Runs in Chromium (bundled by esbuild in test/bench/console.bench.ts): the console's chart
// component (UPlotChart with the console's options) beside bare uPlot given the same options
// and the same arrays, each timed from creation to uPlot's first `draw`.
import { flushSync } from 'react-dom';
import { createRoot } from 'react-dom/client';
import uPlot from 'uplot';
import { UPlotChart } from '../../../../src-renderer/src/charts/uplot-chart';
import { LIGHT, timeChartOptions } from '../../../../src-renderer/src/charts/chart-options';

type Aligned = [number[], ...(number | null)[][]];

/** `points` samples every 10 s ending now, `series` smooth noisy lines. */
function makeData(points: number, series: number): Aligned {
  const end = Math.floor(Date.now() / 1000);
  const t = Array.from({ length: points }, (_, i) => end - (points - 1 - i) * 10);
  const cols = Array.from({ length: series }, (_, s) => {
    let seed = 12345 + s * 999;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    return t.map((_, i) => 40 + 25 * Math.sin(i / (300 + s * 50)) + rnd() * 10);
  });
  return [t, ...cols];
}

function options(series: number, onDraw: () => void) {
  const o = timeChartOptions({
    series: Array.from({ length: series }, (_, i) => ({ name: `s${i}`, label: `Series ${i}` })),
    format: (v) => `${v.toFixed(1)} %`,
    theme: LIGHT,
    height: 300,
  });
  return { ...o, hooks: { ...o.hooks, draw: [onDraw] } };
}

function freshBox(): HTMLDivElement {
  document.body.replaceChildren();
  const el = document.createElement('div');
  el.className = 'box';
  document.body.append(el);
  return el;
}

let data: Aligned = [[]];

const bench = {
  prepare(points: number, series: number): number {
    data = makeData(points, series);
    return data[0].length * (data.length - 1);
  },
  /** Bare uPlot: new uPlot(options, data, element) until its first draw. */
  bare(): Promise<number> {
    const el = freshBox();
    const series = data.length - 1;
    return new Promise((resolve) => {
      const made: { plot?: uPlot } = {};
      const t0 = performance.now();
      const o = options(series, () => {
        const ms = performance.now() - t0;
        setTimeout(() => made.plot?.destroy(), 0);
        resolve(ms);
      });
      made.plot = new uPlot({ ...o, width: el.clientWidth, height: o.height }, data as uPlot.AlignedData, el);
    });
  },
  /** The console's component, rendered by React, until uPlot's first draw. */
  component(): Promise<number> {
    const el = freshBox();
    const series = data.length - 1;
    return new Promise((resolve) => {
      const root = createRoot(el);
      const t0 = performance.now();
      const o = options(series, () => {
        const ms = performance.now() - t0;
        setTimeout(() => root.unmount(), 0);
        resolve(ms);
      });
      flushSync(() => root.render(<UPlotChart options={o} data={data as uPlot.AlignedData} label="bench" />));
    });
  },
};

(globalThis as { chartBench?: typeof bench }).chartBench = bench;
