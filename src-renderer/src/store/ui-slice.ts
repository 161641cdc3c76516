// Console preferences: the theme (system, light or dark, remembered in this browser) and the
// dashboard's filters.
import type { Slice, StoreDeps } from './store';
import { DEFAULT_QUERY, type FleetQuery } from '../features/dashboard/fleet-view';

export type ThemeChoice = 'system' | 'light' | 'dark';
const THEME_KEY = 'opmas.theme';

export interface UiSlice {
  theme: ThemeChoice;
  setTheme(theme: ThemeChoice): void;
  /** The dashboard's filters, sort and grouping, kept while the user visits other views. */
  dashboard: FleetQuery;
  setDashboard(patch: Partial<FleetQuery>): void;
}

export const uiSlice = ({ storage }: StoreDeps): Slice<UiSlice> => (set, get) => {
  const store = storage === undefined ? (globalThis.localStorage ?? null) : storage;
  const saved = store?.getItem(THEME_KEY);
  return {
    theme: saved === 'light' || saved === 'dark' ? saved : 'system',
    setTheme: (theme) => {
      store?.setItem(THEME_KEY, theme);
      set({ theme });
    },
    dashboard: DEFAULT_QUERY,
    setDashboard: (patch) => set({ dashboard: { ...get().dashboard, ...patch } }),
  };
};
