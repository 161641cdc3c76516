// A tiny canvas line of an agent's recent CPU or memory samples. It redraws itself when the
// store's sample book gets a newer sample for its agent, without re-rendering React.
import { useEffect, useRef } from 'react';
import { useConsole } from '../store/context';

const POINTS = 30;

export function drawSparkline(canvas: HTMLCanvasElement, values: Array<number | null>, max: number | null, color: string): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width;
  const h = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const nums = values.filter((v): v is number => v !== null);
  if (nums.length === 0) return;
  const top = max ?? Math.max(...nums, 1e-9);
  const stepX = values.length > 1 ? w / (values.length - 1) : 0;
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = values.length > 1 ? i * stepX : w / 2;
    const y = h - 1 - (Math.min(v, top) / top) * (h - 2);
    if (pen) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    pen = true;
  });
  ctx.stroke();
}

export function Sparkline({ agentId, metric, max, unit }: { agentId: string; metric: string; max?: number; unit: string }) {
  const { store } = useConsole();
  const ref = useRef<HTMLCanvasElement>(null);
  const text = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const canvas = ref.current!;
    let seen = -1;
    const draw = () => {
      const { book } = store.getState().samples;
      const seq = book.of(agentId)?.seq ?? 0;
      if (seq === seen) return;
      seen = seq;
      const values = book.recent(agentId, metric, POINTS);
      drawSparkline(canvas, values, max ?? null, getComputedStyle(canvas).color);
      const latest = values.length ? values[values.length - 1] : null;
      if (text.current) text.current.textContent = latest === null ? '—' : `${latest < 10 ? latest.toFixed(1) : Math.round(latest)} ${unit}`;
    };
    draw();
    return store.subscribe((s, prev) => {
      if (s.samples.revision !== prev.samples.revision) draw();
    });
  }, [store, agentId, metric, max, unit]);
  return (
    <span className="spark">
      <canvas ref={ref} className="sparkline" width={56} height={18} aria-hidden="true" />
      <span ref={text} className="spark-value">
        —
      </span>
    </span>
  );
}
