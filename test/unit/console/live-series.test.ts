// Live metric series: samples merge into the current bucket (averaged) or open the next one,
// old points fall off, and the API's columns become uPlot's aligned arrays.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { alignedData, appendSample, emptySeries, seriesFromColumns, stepFor, trimBefore } from '../../../src-renderer/src/charts/live-series';
import { SampleBook } from '../../../src-renderer/src/store/samples-slice';

describe('live series', () => {
  it('averages samples in one bucket and starts a new bucket at the next step', () => {
    const s = emptySeries(['cpu_percent', 'memory_mb']);
    const opts = { stepS: 60, keepFromS: null };
    expect(appendSample(s, 120_000, { cpu_percent: 10, memory_mb: 100 }, opts)).toBe(true);
    appendSample(s, 130_000, { cpu_percent: 20 }, opts);
    appendSample(s, 170_000, { cpu_percent: 30, memory_mb: 110 }, opts);
    appendSample(s, 185_000, { cpu_percent: 5 }, opts);
    expect(s.t).toEqual([120, 180]);
    expect(s.cols.cpu_percent).toEqual([20, 5]);
    expect(s.cols.memory_mb).toEqual([105, null]);
  });

  it('ignores a sample older than the last bucket, and drops buckets before the window', () => {
    const s = seriesFromColumns(['cpu_percent'], [0, 10_000, 20_000], { cpu_percent: [1, null, 3] });
    expect(s.t).toEqual([0, 10, 20]);
    expect(appendSample(s, 5_000, { cpu_percent: 99 }, { stepS: 10, keepFromS: null })).toBe(false);
    appendSample(s, 30_000, { cpu_percent: 4 }, { stepS: 10, keepFromS: 15 });
    expect(s.t).toEqual([20, 30]);
    expect(alignedData(s, ['cpu_percent'])).toEqual([
      [20, 30],
      [3, 4],
    ]);
    trimBefore(s, 100);
    expect(s.t).toEqual([]);
  });

  it('keeps times increasing and every column aligned with them, whatever arrives', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3_600_000 }), fc.option(fc.float({ noNaN: true, min: 0, max: 100 }))), { maxLength: 200 }), fc.integer({ min: 1, max: 600 }), (samples, step) => {
        const s = emptySeries(['v']);
        for (const [t, v] of samples) appendSample(s, t, v === null ? {} : { v }, { stepS: step, keepFromS: null });
        for (let i = 1; i < s.t.length; i++) expect(s.t[i]).toBeGreaterThan(s.t[i - 1]);
        expect(s.cols.v).toHaveLength(s.t.length);
        for (const t of s.t) expect(t % step).toBe(0);
      }),
    );
  });

  it('picks a step that keeps a range within the point budget', () => {
    expect(stepFor(15 * 60)).toBe(10);
    expect(stepFor(7 * 86_400)).toBe(303);
    expect((7 * 86_400) / stepFor(7 * 86_400)).toBeLessThanOrEqual(2000);
  });
});

describe('the sample book', () => {
  it('keeps recent samples per agent, answers what is newer than a seq, and the last values of a metric', () => {
    const T0 = 1_800_000_000_000;
    const book = new SampleBook();
    book.add('a', T0, { cpu_percent: 1 });
    book.add('b', T0, { cpu_percent: 50 });
    book.add('a', T0 / 1000 + 1, { cpu_percent: 2, memory_mb: 10 }); // seconds become ms
    const seqA = book.of('a')!.seq;
    expect(book.since('a', 0).map((s) => s.t - T0)).toEqual([0, 1_000]);
    expect(book.since('a', seqA)).toEqual([]);
    expect(book.recent('a', 'memory_mb', 5)).toEqual([null, 10]);
    for (let i = 0; i < 800; i++) book.add('a', T0 + 3_000 + i, { cpu_percent: i });
    expect(book.of('a')!.entries).toHaveLength(720);
    expect(book.recent('a', 'cpu_percent', 1)).toEqual([799]);
  });
});
