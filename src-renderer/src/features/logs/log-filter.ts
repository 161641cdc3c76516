// Which log lines a filter keeps, for lines that arrive live (the API filters the rest), the
// time ranges offered, and how exported lines read.
import type { LogEntry } from '../../api/types';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

/** A level filter keeps that level and the more severe ones. */
export function levelAtLeast(level: string, min: string): boolean {
  if (!min) return true;
  const i = LOG_LEVELS.indexOf(level.toUpperCase() as (typeof LOG_LEVELS)[number]);
  const j = LOG_LEVELS.indexOf(min.toUpperCase() as (typeof LOG_LEVELS)[number]);
  return i < 0 || j < 0 ? level.toUpperCase() === min.toUpperCase() : i >= j;
}

export function lineMatches(line: { level: string; message: string; timestamp?: string }, filter: { level: string; q: string; since?: string; until?: string }): boolean {
  if (!levelAtLeast(line.level, filter.level)) return false;
  const q = filter.q.trim().toLowerCase();
  if (q && !line.message.toLowerCase().includes(q)) return false;
  if (line.timestamp && (filter.since || filter.until)) {
    const t = Date.parse(line.timestamp);
    if (filter.since && t < Date.parse(filter.since)) return false;
    if (filter.until && t >= Date.parse(filter.until)) return false;
  }
  return true;
}

/** Where a line came from, as people say it: the agent's messages over NATS come "via the broker". */
export function sourceLabel(source: string | null): string {
  return source === 'nats' ? 'broker' : (source ?? 'unknown');
}

export const LOG_RANGES: Array<{ id: string; label: string; seconds: number | null }> = [
  { id: 'all', label: 'Any time', seconds: null },
  { id: '15m', label: 'Last 15 min', seconds: 900 },
  { id: '1h', label: 'Last hour', seconds: 3600 },
  { id: '24h', label: 'Last 24 h', seconds: 86_400 },
  { id: '7d', label: 'Last 7 days', seconds: 7 * 86_400 },
  { id: 'custom', label: 'Between…', seconds: null },
];

/** since/until (ISO) for a range choice at `nowMs`; custom bounds come as they are. */
export function rangeBounds(range: string, nowMs: number, custom: { since: string; until: string }): { since?: string; until?: string } {
  if (range === 'custom') return { ...(custom.since ? { since: custom.since } : {}), ...(custom.until ? { until: custom.until } : {}) };
  const r = LOG_RANGES.find((x) => x.id === range);
  if (!r?.seconds) return {};
  return { since: new Date(nowMs - r.seconds * 1000).toISOString() };
}

/** A line as text: "2026-03-04T14:05:09.123Z INFO stderr message {context}". */
export function logLineText(l: LogEntry): string {
  const ctx = l.context && Object.keys(l.context).length > 0 ? ` ${JSON.stringify(l.context)}` : '';
  return `${l.timestamp} ${l.level} ${sourceLabel(l.source)} ${l.message.replace(/\n/g, '\\n')}${ctx}`;
}
