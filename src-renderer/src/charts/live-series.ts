// Columnar series that grow live: a sample is merged into the current time bucket (averaged)
// or starts a new one, and points older than the window fall off the front. Pure and
// allocation-light: uPlot is handed the same arrays after each append.

export interface LiveSeries {
  /** Bucket start times, in seconds (uPlot's time unit). */
  t: number[];
  /** One column per metric name, aligned with `t`. */
  cols: Record<string, (number | null)[]>;
  /** How many samples were averaged into each column's last bucket. */
  lastCounts: Record<string, number>;
  /** Counters: the previous raw (cumulative) sample, to turn the next into a per-second rate. */
  lastRaw: Record<string, { tMs: number; v: number }>;
}

export function emptySeries(names: string[]): LiveSeries {
  return { t: [], cols: Object.fromEntries(names.map((n) => [n, []])), lastCounts: {}, lastRaw: {} };
}

/** Builds a series from the API's columnar answer (`t` in epoch ms). */
export function seriesFromColumns(names: string[], t: number[], columns: Record<string, ArrayLike<number | null> | undefined>): LiveSeries {
  const s = emptySeries(names);
  s.t = t.map((ms) => ms / 1000);
  for (const n of names) {
    const col = columns[n];
    s.cols[n] = col ? Array.from(col, (v) => (v === undefined || v === null || Number.isNaN(v) ? null : v)) : new Array<number | null>(t.length).fill(null);
    s.lastCounts[n] = 1;
  }
  return s;
}

export interface AppendOptions {
  /** Bucket width in seconds (the step of the range being shown). */
  stepS: number;
  /** Drop buckets that start before this time (seconds); null keeps everything. */
  keepFromS: number | null;
  /**
   * Series whose samples are cumulative counts (disk and network bytes): each sample becomes
   * the per-second rate since the previous one (a drop is a restart: counted from zero), as
   * the API answers them. The first sample only starts the count.
   */
  counters?: ReadonlySet<string>;
}

/** Counters only: notes a sample's raw values as the base of the next rate, appending nothing (samples the fetched history already covers). */
export function noteCounters(series: LiveSeries, tMs: number, raw: Record<string, number>, counters: ReadonlySet<string>): void {
  for (const name of counters) {
    const v = raw[name];
    if (typeof v === 'number' && Number.isFinite(v)) series.lastRaw[name] = { tMs, v };
  }
}

/** A counter's per-second rate since its previous sample; undefined for the first. */
function counterRate(series: LiveSeries, name: string, tMs: number, v: number): number | undefined {
  const prev = series.lastRaw[name];
  series.lastRaw[name] = { tMs, v };
  if (!prev || tMs <= prev.tMs) return undefined;
  const increase = v >= prev.v ? v - prev.v : v;
  return increase / ((tMs - prev.tMs) / 1000);
}

/**
 * Adds one sample (time in ms) to the series, in place. Answers whether anything changed.
 * A sample older than the last bucket is ignored: the fetched history already covers it.
 */
export function appendSample(series: LiveSeries, tMs: number, raw: Record<string, number>, opts: AppendOptions): boolean {
  let values = raw;
  if (opts.counters && opts.counters.size > 0) {
    values = { ...raw };
    for (const name of opts.counters) {
      const v = raw[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const rate = counterRate(series, name, tMs, v);
      if (rate === undefined) delete values[name];
      else values[name] = rate;
    }
  }
  const step = Math.max(opts.stepS, 1e-3);
  const bucket = Math.floor(tMs / 1000 / step) * step;
  const n = series.t.length;
  const last = n > 0 ? series.t[n - 1] : -Infinity;
  if (bucket < last) return false;
  if (bucket > last) {
    series.t.push(bucket);
    for (const name of Object.keys(series.cols)) {
      const v = values[name];
      series.cols[name].push(typeof v === 'number' && Number.isFinite(v) ? v : null);
      series.lastCounts[name] = typeof v === 'number' && Number.isFinite(v) ? 1 : 0;
    }
  } else {
    for (const name of Object.keys(series.cols)) {
      const v = values[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const col = series.cols[name];
      const count = series.lastCounts[name] ?? 0;
      const prev = col[n - 1];
      col[n - 1] = prev === null || count === 0 ? v : (prev * count + v) / (count + 1);
      series.lastCounts[name] = count + 1;
    }
  }
  if (opts.keepFromS !== null) trimBefore(series, opts.keepFromS);
  return true;
}

export function trimBefore(series: LiveSeries, fromS: number): void {
  let drop = 0;
  while (drop < series.t.length && series.t[drop] < fromS) drop++;
  if (drop === 0) return;
  series.t.splice(0, drop);
  for (const col of Object.values(series.cols)) col.splice(0, drop);
}

/** uPlot's aligned data: the time column, then the named columns in order. */
export function alignedData(series: LiveSeries, names: string[]): [number[], ...(number | null)[][]] {
  return [series.t, ...names.map((n) => series.cols[n] ?? [])];
}

/** The step (seconds) for a range so that it holds at most `maxPoints` buckets, at least `minStepS`. */
export function stepFor(rangeS: number, maxPoints = 2000, minStepS = 10): number {
  return Math.max(minStepS, Math.ceil(rangeS / maxPoints));
}
