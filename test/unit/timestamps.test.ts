import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ISO_TIMESTAMPS, pgTimestampToIso } from '../../server/db/timestamps.js';

const driverIso = (text: string) => (pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (t: string) => Date)(text).toISOString();

/** PostgreSQL's text output of a timestamptz in UTC: trailing fraction zeros dropped. */
function pgText(ms: number, micros: number): string {
  const iso = new Date(ms).toISOString();
  const fraction = `${iso.slice(20, 23)}${String(micros).padStart(3, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`;
}

describe('pgTimestampToIso', () => {
  it('answers what the driver and toISOString() answer, for any UTC text PostgreSQL writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31) }), fc.integer({ min: 0, max: 999 }), (ms, micros) => {
        const text = pgText(ms, micros);
        expect(pgTimestampToIso(text)).toBe(driverIso(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('pads the fraction to milliseconds and truncates microseconds', () => {
    expect(pgTimestampToIso('2026-11-24 19:46:21+00')).toBe('2026-11-24T19:46:21.000Z');
    expect(pgTimestampToIso('2026-11-24 19:46:21.9+00')).toBe('2026-11-24T19:46:21.900Z');
    expect(pgTimestampToIso('2026-11-24 19:46:21.123456+00')).toBe('2026-11-24T19:46:21.123Z');
  });

  it('converts other offsets to UTC', () => {
    expect(pgTimestampToIso('2026-11-25 01:16:21.961+05:30')).toBe('2026-11-24T19:46:21.961Z');
    expect(pgTimestampToIso('2026-11-24 14:46:21.5-05')).toBe('2026-11-24T19:46:21.500Z');
  });

  it('answers values no Date holds as PostgreSQL wrote them', () => {
    expect(pgTimestampToIso('infinity')).toBe('infinity');
    expect(pgTimestampToIso('-infinity')).toBe('-infinity');
  });

  it('leaves every other type to the driver', () => {
    expect(ISO_TIMESTAMPS.getTypeParser(pg.types.builtins.TIMESTAMPTZ)).toBe(pgTimestampToIso);
    expect(ISO_TIMESTAMPS.getTypeParser(pg.types.builtins.JSONB)).toBe(pg.types.getTypeParser(pg.types.builtins.JSONB));
  });
});
