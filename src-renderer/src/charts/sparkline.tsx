// A tiny canvas line of an agent's recent CPU or memory samples. It redraws itself when the
// store's sample book gets a newer sample for its agent, without re-rendering React.
import { useEffect, useRef } from 'react';
import { useConsole } from '../store/context';

const POINTS = 30;
// The CSS size of every sparkline (styles/app.css .sparkline): fixed, so drawing never reads layout.
const W = 56;
const H = 18;

export function drawSparkline(canvas: HTMLCanvasElement, values: Array<number | null>, max: number | null, color: string, w = W, h = H): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const dpr = globalThis.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const nums = values.filter((v): v is number => v !== null);
  if (nums.length === 0) return;
  // A fixed range (0-100 % for CPU) or the samples' own range; a flat line sits in the middle.
  const lo = max === null ? Math.min(...nums) : 0;
  const hi = max === null ? Math.max(...nums) : max;
  const span = hi - lo;
  const y = (v: number) => (span <= 1e-9 ? h / 2 : h - 1 - ((Math.min(Math.max(v, lo), hi) - lo) / span) * (h - 2));
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
    if (pen) ctx.lineTo(x, y(v));
    else ctx.moveTo(x, y(v));
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
    let color: string | null = null;
    const draw = () => {
      const { book } = store.getState().samples;
      const seq = book.of(agentId)?.seq ?? 0;
      if (seq === seen) return;
      seen = seq;
      const values = book.recent(agentId, metric, POINTS);
      if (values.length === 0) return;
      // Read the theme's colour once (it forces a style recalculation), again after a theme change.
      color ??= getComputedStyle(canvas).color;
      drawSparkline(canvas, values, max ?? null, color);
      const latest = values.length ? values[values.length - 1] : null;
      if (text.current) text.current.textContent = latest === null ? '—' : `${latest < 10 ? latest.toFixed(1) : Math.round(latest)} ${unit}`;
    };
    draw();
    return store.subscribe((s, prev) => {
      if (s.theme !== prev.theme) {
        color = null;
        seen = -1;
      }
      if (s.samples.revision !== prev.samples.revision || seen === -1) draw();
    });
  }, [store, agentId, metric, max, unit]);
  return (
    <span className="spark">
      <canvas ref={ref} className="sparkline" width={W} height={H} aria-hidden="true" />
      <span ref={text} className="spark-value">
        —
      </span>
    </span>
  );
}
