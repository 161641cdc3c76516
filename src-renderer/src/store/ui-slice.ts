// Console preferences: the theme (system, light or dark, remembered in this browser) and the
// fleet table's last query string.
import type { Slice, StoreDeps } from './store';

export type ThemeChoice = 'system' | 'light' | 'dark';
const THEME_KEY = 'opmas.theme';

export interface UiSlice {
  theme: ThemeChoice;
  setTheme(theme: ThemeChoice): void;
  /**
   * The fleet table's query string (filters, sort, grouping; the URL is the truth), kept so the
   * Fleet link leads back to the same view.
   */
  fleetSearch: string;
  setFleetSearch(search: string): void;
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
    fleetSearch: '',
    setFleetSearch: (fleetSearch) => {
      if (get().fleetSearch !== fleetSearch) set({ fleetSearch });
    },
  };
};
