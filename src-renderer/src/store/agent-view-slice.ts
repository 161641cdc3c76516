// What the agent view shares between its timeline and its metrics charts: the time range (a
// preset that follows now, fitted to a young agent's data by default, or a zoomed span), the
// cursor's moment, and the timeline event selected from a chart marker. The fleet overview has
// a time range of its own, with the same controls.
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
  /**
   * Fit the range to the data when it starts inside the preset (an agent started a minute ago
   * fills the chart rather than being a sliver at its right edge). Picking a preset turns it off.
   */
  fit: boolean;
}

/** The shortest span a fitted range shows, seconds. */
export const MIN_FIT_S = 60;

/**
 * The window's bounds in seconds; `live` when it ends now and grows with new samples. With
 * `dataStartS` (the first sample or transition in the preset's range) a fitting window starts
 * there, less a margin, and `fitted` says it did.
 */
export function windowBounds(w: TimeWindow, nowS: number, dataStartS?: number | null): { from: number; to: number; live: boolean; fitted: boolean } {
  if (w.zoom) return { ...w.zoom, live: false, fitted: false };
  const from = nowS - RANGE_PRESETS[w.preset].seconds;
  if (w.fit && dataStartS !== undefined && dataStartS !== null && dataStartS > from) {
    const age = Math.max(0, nowS - dataStartS);
    const start = Math.min(dataStartS - Math.max(10, age * 0.1), nowS - MIN_FIT_S);
    if (start > from) return { from: start, to: nowS, live: true, fitted: true };
  }
  return { from, to: nowS, live: true, fitted: false };
}

export interface AgentViewSlice {
  timeWindow: TimeWindow;
  /** Seconds; where the chart cursor or the hovered timeline row points. */
  cursor: { t: number | null; source: 'chart' | 'timeline' | null };
  /** The timeline row picked from a chart marker (its history id). */
  selectedEvent: number | null;
  setPreset(preset: RangePreset): void;
  setFit(fit: boolean): void;
  zoomTo(from: number, to: number): void;
  resetZoom(): void;
  setCursor(t: number | null, source: 'chart' | 'timeline'): void;
  selectEvent(id: number | null): void;
  overviewWindow: TimeWindow;
  setOverviewPreset(preset: RangePreset): void;
  zoomOverview(from: number, to: number): void;
  resetOverviewZoom(): void;
}

export const DEFAULT_WINDOW: TimeWindow = { preset: '1h', zoom: null, fit: true };

export const agentViewSlice = (): Slice<AgentViewSlice> => (set, get) => ({
  timeWindow: DEFAULT_WINDOW,
  cursor: { t: null, source: null },
  selectedEvent: null,
  setPreset: (preset) => set({ timeWindow: { preset, zoom: null, fit: false } }),
  setFit: (fit) => set({ timeWindow: { ...get().timeWindow, zoom: null, fit } }),
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
  selectEvent: (selectedEvent) => {
    if (get().selectedEvent !== selectedEvent) set({ selectedEvent });
  },
  overviewWindow: { preset: '1h', zoom: null, fit: false },
  setOverviewPreset: (preset) => set({ overviewWindow: { preset, zoom: null, fit: false } }),
  zoomOverview: (from, to) => {
    if (!(to > from)) return;
    set({ overviewWindow: { ...get().overviewWindow, zoom: { from, to } } });
  },
  resetOverviewZoom: () => set({ overviewWindow: { ...get().overviewWindow, zoom: null } }),
});
