// What the agent view shares between its timeline and its metrics charts: the time range
// (a preset that follows now, or a zoomed span) and the cursor's moment.
import type { Slice } from './store';

export type RangePreset = '15m' | '1h' | '24h' | '7d';
export const RANGE_PRESETS: Record<RangePreset, { seconds: number; label: string }> = {
  '15m': { seconds: 15 * 60, label: '15 min' },
  '1h': { seconds: 3600, label: '1 h' },
  '24h': { seconds: 86_400, label: '24 h' },
  '7d': { seconds: 7 * 86_400, label: '7 d' },
};

export interface TimeWindow {
  preset: RangePreset;
  /** A zoomed span in seconds; null follows the preset up to now. */
  zoom: { from: number; to: number } | null;
}

/** The window's bounds in seconds; `live` when it ends now and grows with new samples. */
export function windowBounds(w: TimeWindow, nowS: number): { from: number; to: number; live: boolean } {
  if (w.zoom) return { ...w.zoom, live: false };
  return { from: nowS - RANGE_PRESETS[w.preset].seconds, to: nowS, live: true };
}

export interface AgentViewSlice {
  timeWindow: TimeWindow;
  /** Seconds; where the chart cursor or the hovered timeline row points. */
  cursor: { t: number | null; source: 'chart' | 'timeline' | null };
  setPreset(preset: RangePreset): void;
  zoomTo(from: number, to: number): void;
  resetZoom(): void;
  setCursor(t: number | null, source: 'chart' | 'timeline'): void;
}

export const agentViewSlice = (): Slice<AgentViewSlice> => (set, get) => ({
  timeWindow: { preset: '1h', zoom: null },
  cursor: { t: null, source: null },
  setPreset: (preset) => set({ timeWindow: { preset, zoom: null } }),
  zoomTo: (from, to) => {
    if (!(to > from)) return;
    set({ timeWindow: { ...get().timeWindow, zoom: { from, to } } });
  },
  resetZoom: () => set({ timeWindow: { ...get().timeWindow, zoom: null } }),
  setCursor: (t, source) => {
    const c = get().cursor;
    if (c.t === t && c.source === source) return;
    set({ cursor: { t, source } });
  },
});
