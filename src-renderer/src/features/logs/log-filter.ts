// Which log lines a filter keeps, for lines that arrive live (the API filters the rest).
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

/** A level filter keeps that level and the more severe ones. */
export function levelAtLeast(level: string, min: string): boolean {
  if (!min) return true;
  const i = LOG_LEVELS.indexOf(level.toUpperCase() as (typeof LOG_LEVELS)[number]);
  const j = LOG_LEVELS.indexOf(min.toUpperCase() as (typeof LOG_LEVELS)[number]);
  return i < 0 || j < 0 ? level.toUpperCase() === min.toUpperCase() : i >= j;
}

export function lineMatches(line: { level: string; message: string }, filter: { level: string; q: string }): boolean {
  if (!levelAtLeast(line.level, filter.level)) return false;
  const q = filter.q.trim().toLowerCase();
  return !q || line.message.toLowerCase().includes(q);
}
