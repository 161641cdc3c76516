// The one uPlot component: the plot is built once per options object (callers memoize it),
// fed new data with setData, and resized with its container. Live updates do not go through
// React at all: `onReady` hands the plot to a hook that calls setData itself.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'> & { height: number };

export interface UPlotChartProps {
  options: ChartOptions;
  data: uPlot.AlignedData;
  /** Text for screen readers: what the chart shows and its latest values. */
  label: string;
  onReady?(plot: uPlot): void;
  onDestroy?(plot: uPlot): void;
  className?: string;
  testId?: string;
}

export function UPlotChart({ options, data, label, onReady, onDestroy, className, testId }: UPlotChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  dataRef.current = data;
  const ready = useRef(onReady);
  ready.current = onReady;
  const destroyed = useRef(onDestroy);
  destroyed.current = onDestroy;

  useEffect(() => {
    const el = box.current!;
    // One layout read, before uPlot adds its DOM: reading the width again after it would force a
    // second layout of the whole new chart before its first draw (the component's only cost
    // over bare uPlot, see test/bench/console.bench.ts).
    let width = el.clientWidth;
    const p = new uPlot({ ...options, width: Math.max(width, 100), height: options.height }, dataRef.current, el);
    plot.current = p;
    ready.current?.(p);
    const ro = new ResizeObserver(() => {
      if (el.clientWidth !== width && el.clientWidth > 0) {
        width = el.clientWidth;
        p.setSize({ width, height: options.height });
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      destroyed.current?.(p);
      p.destroy();
      plot.current = null;
    };
  }, [options]);

  useEffect(() => {
    const p = plot.current;
    if (p && p.data !== data) p.setData(data);
  }, [data]);

  return <div ref={box} className={`chart ${className ?? ''}`} role="img" aria-label={label} data-testid={testId} />;
}
