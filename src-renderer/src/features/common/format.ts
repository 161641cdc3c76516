// How times, durations, sizes and numbers read in the console.

/** "12 s ago", "3 min ago", "in 5 s"; "never" for null. */
export function relativeTime(iso: string | number | null | undefined, nowMs: number): string {
  if (iso === null || iso === undefined || iso === '') return 'never';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown';
  const diffS = Math.round((nowMs - t) / 1000);
  const abs = Math.abs(diffS);
  const text = abs < 2 ? null : shortDuration(abs);
  if (text === null) return 'just now';
  return diffS >= 0 ? `${text} ago` : `in ${text}`;
}

/** "45 s", "3 min", "2 h 5 min", "4 d 3 h". */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Seconds with up to two decimals and the unit: "5 s", "0.25 s". */
export function seconds(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  return `${Math.round(v * 100) / 100} s`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  let n = Math.abs(v);
  let u = 0;
  while (n >= 1024 && u < UNITS.length - 1) {
    n /= 1024;
    u++;
  }
  const digits = n >= 100 || (u === 0 && Number.isInteger(n)) ? 0 : n >= 10 ? 1 : 2;
  return `${v < 0 ? '-' : ''}${Number(n.toFixed(digits))} ${UNITS[u]}`;
}

// One formatter per precision: toLocaleString builds a new Intl.NumberFormat on every call, which
// chart axes and legends (hundreds of values per draw) would pay each time.
const formatters = new Map<number, Intl.NumberFormat>();
function formatterWith(digits: number): Intl.NumberFormat {
  let f = formatters.get(digits);
  if (!f) formatters.set(digits, (f = new Intl.NumberFormat('en-US', { maximumFractionDigits: digits })));
  return f;
}

export function number(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return formatterWith(Number.isInteger(v) ? 0 : digits).format(v);
}

/** Local date and time to the second, e.g. "2025-03-04 14:05:09". */
export function dateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function timeOfDay(iso: string | number): string {
  return dateTime(iso).slice(11);
}

/** The time of day for a moment of today (local), else the date and time. */
export function compactDateTime(iso: string | number, nowMs: number): string {
  const full = dateTime(iso);
  return full !== '—' && full.slice(0, 10) === dateTime(nowMs).slice(0, 10) ? full.slice(11) : full;
}

/** "registered" → "Registered", "in_progress" → "In progress". */
export function label(value: string): string {
  const s = value.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
