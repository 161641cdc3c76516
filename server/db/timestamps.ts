// Timestamps read as the ISO strings the API answers, straight from PostgreSQL's text form,
// for the hot read paths (agent list and detail). The driver's default turns each one into a
// Date through a regular expression and the view turns it back with toISOString(); for a page
// of 100 agents that was a sixth of the request's CPU.
import pg from 'pg';

const TIMESTAMPTZ = pg.types.builtins.TIMESTAMPTZ;
const parseDefault = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => Date | number;

/** PostgreSQL's text form in UTC: `2026-11-24 19:46:21.95+00`, 0–6 fraction digits. */
const UTC_TEXT = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00$/;

/**
 * `2026-11-24 19:46:21.95+00` → `2026-11-24T19:46:21.950Z`, exactly what Date#toISOString()
 * gives for the same instant (milliseconds, truncated). Other offsets, BC and infinities take
 * the driver's own parser; a value no Date can hold is answered as PostgreSQL wrote it.
 */
export function pgTimestampToIso(text: string): string {
  const m = UTC_TEXT.exec(text);
  if (m) return `${m[1]}T${m[2]}.${((m[3] ?? '') + '000').slice(0, 3)}Z`;
  const parsed = parseDefault(text);
  const date = parsed instanceof Date ? parsed : new Date(parsed);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

/** pg's per-query `types`: timestamptz as ISO strings, every other type as usual. */
export const ISO_TIMESTAMPS = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    return oid === TIMESTAMPTZ ? pgTimestampToIso : pg.types.getTypeParser(oid, format);
  },
};
